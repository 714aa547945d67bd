package import AsyncHTTPClient
package import LLMuxConfig
package import LLMuxWire
package import Logging
package import NIOCore
import NIOHTTP1
import Foundation

/// Progress signals the engine uses to run its phase timers.
package enum UpstreamProgress: Sendable {
    /// The response head arrived (any status).
    case headers
    /// Bytes of the body arrived (keep-alive comments included).
    case bytes
}

/// The HTTP transport: streams chat completions from a provider in its `ProviderDialect`
/// (OpenAI-compatible, Azure, Anthropic), with one shared reading loop, error answers and
/// whole-JSON answers.
///
/// One `stream` call is one upstream HTTP request. Cancelling the calling task
/// cancels the request inside async-http-client, which closes the connection.
package struct UpstreamChatClient: UpstreamTransport {
    package static let userAgent = "llmux/\(LLMuxVersion.current)"
    /// The most of an error body that is read to build a message.
    static let maxErrorBodyBytes = 64 * 1024

    private let httpClient: HTTPClient
    private let sseLimits: SSEParser.Limits

    package init(httpClient: HTTPClient, sseLimits: SSEParser.Limits = .default) {
        self.httpClient = httpClient
        self.sseLimits = sseLimits
    }

    package var eventLoop: any EventLoop { self.httpClient.eventLoopGroup.any() }

    /// The upstream request body: the client's options, then the fields llmux owns.
    package static func requestBody(for request: ChatRequest, upstreamModel: String) -> ByteBuffer {
        var body = request.options
        // Anthropic's extended-thinking switch (from the Messages front) is no OpenAI parameter.
        body["thinking"] = nil
        body["model"] = .string(upstreamModel)
        body["messages"] = .array(ReasoningState.removed(from: request.messages))
        body["stream"] = true
        body["stream_options"] = ["include_usage": true]
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }

    package static func chatCompletionsURL(baseURL: String) -> String {
        Self.endpoint(baseURL: baseURL, path: "/chat/completions")
    }

    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func pathSegment(_ text: String) -> String {
        Self.queryValue(text)
    }

    static func endpoint(baseURL: String, path: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// Runs one request. `onEvent` receives every normalized event in order;
    /// errors it throws propagate unchanged. Upstream failures are thrown as
    /// `UpstreamError`, cancellation as `CancellationError`.
    ///
    /// Only the waits are in this async function; building the request, reading
    /// an error answer and interpreting each chunk are separate functions, so
    /// the async frame a streaming request keeps while suspended holds none of
    /// their temporaries.
    package func stream(
        _ request: ChatRequest,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?,
        logger: Logger,
        onProgress: @Sendable (UpstreamProgress) -> Void,
        onEvent: (UpstreamEvent) throws -> Void
    ) async throws {
        if case .embeddings(let input) = request.operation {
            try await self.embed(
                request, input, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey, logger: logger, onProgress: onProgress, onEvent: onEvent)
            return
        }
        let (http, interpreter) = try Self.httpRequest(request, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
        let passesThrough = provider.kind.dialect.passesThrough(request)
        let exchange = UpstreamExchange.start(http, on: self.httpClient, logger: logger)
        var parts = UpstreamExchange.Reader(exchange)
        var reader = UpstreamStreamReader(
            limits: self.sseLimits, interpreter: interpreter, providerName: provider.name, apiKey: apiKey, passesThrough: passesThrough)
        do {
            let head = try await Self.successfulHead(&parts, provider: provider, apiKey: apiKey, onProgress: onProgress)
            switch try Self.bodyKind(head, provider: provider) {
            case .eventStream:
                break
            case .wholeCompletion:
                let body = try await Self.collect(
                    &parts, upTo: self.sseLimits.maxEventBytes,
                    orThrow: "provider '\(provider.name)' sent a JSON answer that broke off or exceeds \(self.sseLimits.maxEventBytes) bytes")
                onProgress(.bytes)
                try reader.readWholeCompletion(String(buffer: body), onEvent: onEvent)
                return
            }
            read: while true {
                switch await parts.next() {
                case .body(let chunk):
                    onProgress(.bytes)
                    if try reader.read(chunk, onEvent: onEvent) {
                        // The answer is complete: the caller gets its end now. The body's end
                        // (normally in the same segment as [DONE]) is read and dropped so that
                        // the connection returns to the pool; a body that stays open is cut.
                        exchange.abandon(after: .milliseconds(Self.drainLimitMs))
                        break read
                    }
                case .end:
                    break read
                case .failed(let error):
                    if Task.isCancelled { throw CancellationError() }
                    if reader.sawFinish { break read }
                    throw UpstreamError(.truncated, "the connection to provider '\(provider.name)' broke mid-stream: \(Self.describe(error))")
                case .head:
                    continue
                }
            }
        } catch {
            // Whatever ended the read early (the client, a lost race, a bad answer) ends the request.
            exchange.cancel()
            throw error
        }
        try reader.finish()
    }

    /// Waits for `exchange`'s head: a 2xx response, or the `UpstreamError` of a failed
    /// connection or another status (with the message its body gives).
    private static func successfulHead(
        _ parts: inout UpstreamExchange.Reader, provider: ProviderConfig, apiKey: Secret?, onProgress: @Sendable (UpstreamProgress) -> Void
    ) async throws -> HTTPResponseHead {
        let head: HTTPResponseHead
        switch await parts.next() {
        case .head(let received):
            head = received
        case .failed(let error):
            if Task.isCancelled { throw CancellationError() }
            throw UpstreamError(.connect, "cannot reach provider '\(provider.name)': \(Self.describe(error))")
        case .body, .end:
            throw UpstreamError(.protocolViolation, "provider '\(provider.name)' sent a body without a response head")
        }
        onProgress(.headers)
        guard (200..<300).contains(Int(head.status.code)) else {
            let body = await Self.errorBody(&parts)
            throw Self.statusError(head, body: body, provider: provider, apiKey: apiKey)
        }
        return head
    }

    /// The rest of `exchange`'s body, up to `limit` bytes; a body that breaks off or is longer
    /// throws `.truncated` with `message` (cancellation as `CancellationError`).
    private static func collect(_ parts: inout UpstreamExchange.Reader, upTo limit: Int, orThrow message: @autoclosure () -> String) async throws -> ByteBuffer
    {
        var collected = ByteBuffer()
        while true {
            switch await parts.next() {
            case .body(let chunk):
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw UpstreamError(.truncated, message())
                }
                var chunk = chunk
                collected.writeBuffer(&chunk)
            case .end:
                return collected
            case .failed(let error):
                if Task.isCancelled { throw CancellationError() }
                throw UpstreamError(.truncated, "\(message()): \(Self.describe(error))")
            case .head:
                continue
            }
        }
    }

    /// One embeddings request: a whole JSON answer (no stream), read as `.embeddings`, its
    /// usage, and the end.
    private func embed(
        _ request: ChatRequest,
        _ input: EmbeddingsInput,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?,
        logger: Logger,
        onProgress: @Sendable (UpstreamProgress) -> Void,
        onEvent: (UpstreamEvent) throws -> Void
    ) async throws {
        guard var http = provider.kind.dialect.embeddingsRequest(request, input: input, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
        else {
            throw UpstreamError(.protocolViolation, "provider '\(provider.name)' (kind \(provider.kind.rawValue)) serves no embeddings")
        }
        Self.addCommonParts(to: &http, provider: provider, accept: "application/json")
        let exchange = UpstreamExchange.start(http, on: self.httpClient, logger: logger)
        var parts = UpstreamExchange.Reader(exchange)
        let body: ByteBuffer
        do {
            _ = try await Self.successfulHead(&parts, provider: provider, apiKey: apiKey, onProgress: onProgress)
            body = try await Self.collect(
                &parts, upTo: Self.maxEmbeddingsBytes,
                orThrow: "provider '\(provider.name)' sent an embeddings answer that broke off or exceeds \(Self.maxEmbeddingsBytes) bytes")
        } catch {
            exchange.cancel()
            throw error
        }
        onProgress(.bytes)
        let (vectors, usage) = try EmbeddingsAnswer.read(String(buffer: body), expected: input.count, provider: provider.name)
        try onEvent(.embeddings(vectors))
        if let usage { try onEvent(.usage(usage)) }
        try onEvent(.end)
    }

    /// The largest embeddings answer read: 2048 inputs of 3072 dimensions as JSON fit.
    static let maxEmbeddingsBytes = 256 * 1024 * 1024

    /// What a 2xx answer's body holds, by its content type.
    enum BodyKind {
        /// `text/event-stream` (or no content type at all): the stream asked for.
        case eventStream
        /// `application/json` from an OpenAI-compatible server: a whole `chat.completion`,
        /// from a server that ignores `stream: true`.
        case wholeCompletion
    }

    static func bodyKind(_ head: HTTPResponseHead, provider: ProviderConfig) throws(UpstreamError) -> BodyKind {
        guard let contentType = head.headers.first(name: "content-type") else { return .eventStream }
        let mediaType = String(contentType.prefix { $0 != ";" }).trimmingSpaces.lowercased()
        if mediaType == "text/event-stream" { return .eventStream }
        if mediaType == "application/json" || mediaType.hasSuffix("+json"), provider.kind.dialect.readsWholeJSONAnswer { return .wholeCompletion }
        throw UpstreamError(
            .protocolViolation,
            "provider '\(provider.name)' answered HTTP \(head.status.code) with content type '\(OpenAIStreamInterpreter.preview(contentType))' instead of an event stream"
        )
    }

    /// How long the rest of a body after its last event may take to arrive before the
    /// connection is closed instead of returned to the pool.
    static let drainLimitMs: Int64 = 2_000

    /// The HTTP request for `provider`'s API in its dialect, and the interpreter of its event stream.
    @inline(never)
    static func httpRequest(
        _ request: ChatRequest,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?
    ) throws(UpstreamError) -> (UpstreamHTTPRequest, any StreamInterpreter) {
        let dialect = provider.kind.dialect
        var http: UpstreamHTTPRequest
        if case .completion(let input) = request.operation {
            guard let completion = dialect.completionRequest(request, input: input, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
            else {
                throw UpstreamError(.protocolViolation, "provider '\(provider.name)' (kind \(provider.kind.rawValue)) serves no completions")
            }
            http = completion
        } else {
            http = dialect.httpRequest(request, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
        }
        Self.addCommonParts(to: &http, provider: provider, accept: "text/event-stream")
        return (http, dialect.makeInterpreter(for: request, provider: provider))
    }

    /// What every request to `provider` carries: its configured query items and headers, the
    /// method, the content type, `accept` and llmux's user agent.
    static func addCommonParts(to http: inout UpstreamHTTPRequest, provider: ProviderConfig, accept: String) {
        if !provider.query.isEmpty {
            let items = provider.query.keys.sorted().map { "\(Self.queryValue($0))=\(Self.queryValue(provider.query[$0]!))" }
            http.url += (http.url.contains("?") ? "&" : "?") + items.joined(separator: "&")
        }
        for (name, value) in provider.headers.sorted(by: { $0.key < $1.key }) { http.headers.replaceOrAdd(name: name, value: value) }
        http.method = .POST
        http.headers.add(name: "content-type", value: "application/json")
        http.headers.add(name: "accept", value: accept)
        http.headers.add(name: "user-agent", value: Self.userAgent)
    }

    /// The error for a response whose status is not 2xx, with the message its body gives (key redacted).
    static func statusError(_ head: HTTPResponseHead, body: String, provider: ProviderConfig, apiKey: Secret?) -> UpstreamError {
        let status = Int(head.status.code)
        var message = Self.errorMessage(fromBody: body) ?? head.status.reasonPhrase
        if let apiKey { message = apiKey.redact(in: message) }
        return UpstreamError(
            .http(status: status),
            "provider '\(provider.name)' answered HTTP \(status): \(message)",
            retryAfterMs: RetryAfter.milliseconds(from: head.headers)
        )
    }

    /// The first `maxErrorBodyBytes` of an error answer's body; a body that breaks off still
    /// leaves the status to report.
    static func errorBody(_ parts: inout UpstreamExchange.Reader) async -> String {
        var collected = ByteBuffer()
        read: while collected.readableBytes < Self.maxErrorBodyBytes {
            switch await parts.next() {
            case .body(let chunk):
                let room = Self.maxErrorBodyBytes - collected.readableBytes
                var slice = chunk
                if slice.readableBytes > room { slice = slice.getSlice(at: slice.readerIndex, length: room)! }
                collected.writeBuffer(&slice)
            case .head:
                continue
            case .end, .failed:
                break read
            }
        }
        return String(buffer: collected)
    }

    /// Reads `{"error":{"message"}}`, `{"error":"..."}`, Anthropic's
    /// `{"type":"error","error":{...}}` or `{"message":...}`; otherwise a short preview of the text.
    static func errorMessage(fromBody body: String) -> String? {
        let trimmed = body.trimmingSpaces
        guard !trimmed.isEmpty else { return nil }
        if let json = try? JSONValue.parse(trimmed) {
            if let error = json["error"] {
                if let s = error.stringValue { return s }
                if let message = error["message"]?.stringValue { return message }
            }
            if let message = json["message"]?.stringValue { return message }
        }
        return OpenAIStreamInterpreter.preview(trimmed.replacing("\n", with: " "))
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
