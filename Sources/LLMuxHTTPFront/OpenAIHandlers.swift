import Foundation
import HTTPTypes
import Hummingbird
import LLMuxConfig
import LLMuxEngine
import LLMuxWire
import Logging
import NIOCore
import NIOConcurrencyHelpers

/// The endpoints: `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`, `GET /metrics`,
/// `GET /`; `AnthropicHandlers` and `ResponsesHandlers` add the Messages and Responses endpoints
/// on the same router.
struct OpenAIHandlers: Sendable {
    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    let listener: HTTPFront.Listener
    let token: Secret?
    let hooks: HTTPFront.Hooks
    let logger: Logger

    /// Every path the front serves and the methods it answers there (`HEAD` wherever `GET` is);
    /// a known path asked with another method gets 405 with `Allow`.
    static let endpoints: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/", [.get, .head]),
        ("/health", [.get, .head]),
        ("/metrics", [.get, .head]),
        ("/v1/models", [.get, .head]),
        ("/v1/models/", [.get, .head]),
        ("/v1/chat/completions", [.post]),
        ("/v1/responses", [.post, .get, .head]),
        ("/v1/messages", [.post]),
        ("/v1/messages/count_tokens", [.post]),
        ("/v1/embeddings", [.post]),
        ("/v1/completions", [.post]),
        ("/v1/fim/completions", [.post]),
        ("/infill", [.post]),
    ]

    /// The methods served at `path`; empty when the path is unknown.
    static func methods(at path: String) -> [HTTPRequest.Method] {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        if path.hasPrefix("/v1/models/") { return Self.endpoints.first { $0.path == "/v1/models/" }!.methods }
        return Self.endpoints.first { $0.path == path }?.methods ?? []
    }

    func register(on router: Router<HTTPFrontContext>) {
        // First, so that it runs for every request, unknown paths included: nothing is
        // answered (not even "no such path") before the caller is authorized.
        router.add(middleware: FrontGate(handlers: self))
        router.post("/v1/chat/completions") { request, context in
            await self.chatCompletions(request, context)
        }
        AnthropicHandlers(hooks: self.hooks).register(on: router)
        ResponsesHandlers(hooks: self.hooks).register(on: router)
        EmbeddingsHandlers(hooks: self.hooks).register(on: router)
        CompletionsHandlers(hooks: self.hooks).register(on: router)
        MistralFIMHandlers(hooks: self.hooks).register(on: router)
        InfillHandlers(hooks: self.hooks).register(on: router)
        router.get("/v1/models") { request, _ in
            self.models(FrontDialect(request))
        }
        router.get("/v1/models/**") { request, context in
            self.model(id: context.parameters.getCatchAll().joined(separator: "/"), FrontDialect(request))
        }
        router.get("/health") { _, _ in
            self.health()
        }
        router.get("/") { _, _ in
            self.root()
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: self.hooks.engine().metrics.render())))
        }
    }

    // MARK: - Access

    /// `nil` when the caller may proceed; otherwise the refusal, in `dialect`'s shape.
    ///
    /// On TCP the token comes as `Authorization: Bearer` (OpenAI SDKs, `ANTHROPIC_AUTH_TOKEN`) or
    /// as `x-api-key` (`ANTHROPIC_API_KEY`); when both are sent, either may carry it.
    func authorize(_ request: Request, _ context: HTTPFrontContext, _ dialect: FrontDialect) async -> Response? {
        switch self.listener {
        case .unix:
            switch await self.hooks.isSameUser(context.channel) {
            case true?:
                return nil
            case false?:
                self.logger.warning("refused an HTTP request from another user")
            case nil:
                self.logger.debug("an HTTP connection closed before its peer could be checked")
            }
            let refused = WireError(.permissionDenied, "llmuxd serves only its own user on this socket")
            return dialect == .anthropic ? AnthropicErrorBody.response(refused, requestID: nil) : Self.error(refused)
        case .tcp:
            let refusal: String
            let apiKey = request.headers[Self.apiKeyHeader]
            if let apiKey, let token = self.token, token.matches(Substring(apiKey)) { return nil }
            switch BearerCredentials(header: request.headers[.authorization]) {
            case .token(let given):
                if let token = self.token, token.matches(given) { return nil }
                refusal = "wrong bearer token: use the token printed by `llmux token`"
            case .missing where apiKey != nil:
                refusal = "wrong x-api-key: use the token printed by `llmux token`"
            case .missing:
                refusal = "missing token: send 'Authorization: Bearer <token>' or 'x-api-key: <token>' with the token printed by `llmux token`"
            case .otherScheme(let scheme):
                refusal = "the Authorization header uses the '\(scheme)' scheme; send 'Authorization: Bearer <token>' with the token printed by `llmux token`"
            }
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer"
            return dialect.refusal(.unauthorized, refusal, code: "invalid_api_key", headers: headers)
        }
    }

    /// An answer in the OpenAI error shape for a refusal of the front itself (no engine error behind it).
    static func httpError(_ status: HTTPResponse.Status, _ message: String, code: String, headers: HTTPFields = HTTPFields()) -> Response {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.key("error")
        OpenAIErrorBody.write(message: message, type: status == .internalServerError ? "server_error" : "invalid_request_error", code: code, into: &w)
        w.endObject()
        var headers = headers
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("x-should-retry")!] = "false"
        return Response(status: status, headers: headers, body: .init(byteBuffer: w.buffer))
    }

    static func error(_ error: WireError) -> Response {
        let (status, headers, body) = OpenAIErrorBody.response(error)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    // MARK: - Chat completions

    private func chatCompletions(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        if self.hooks.isShuttingDown() {
            return Self.error(WireError(.shuttingDown, "llmuxd is shutting down and takes no new requests", retryable: true))
        }
        let completionID = "chatcmpl-" + Self.randomHex(12)
        let parsed: OpenAIChatRequestReader.Parsed
        do {
            parsed = try OpenAIChatRequestReader.parse(try await EngineExchange.body(of: request, context), id: completionID)
        } catch {
            return Self.error(error)
        }
        let exchange = EngineExchange.start(parsed.request, origin: EngineExchange.origin(of: request), hooks: self.hooks, channel: context.channel)
        let head = await exchange.head(streaming: parsed.stream)
        if let error = EngineExchange.errorBeforeOutput(head) { return Self.error(error) }
        var assembler = OpenAICompletionAssembler()
        for frame in head { assembler.add(frame) }
        let created = Int(Date().timeIntervalSince1970)
        if !parsed.stream {
            guard case .done(let done)? = head.last else {
                // Deltas were produced, then an error: the non-streamed answer is incomplete.
                if case .error(_, let error)? = head.last { return Self.error(error) }
                return Self.error(WireError(.internal, "the request ended without a terminal frame"))
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: assembler.body(for: done, completionID: completionID, created: created)))
        }
        let encoder = OpenAIChunkEncoder(completionID: completionID, created: created, model: assembler.model, includeUsage: parsed.includeUsage)
        return exchange.streamBody(first: head, encoder: encoder)
    }

    // MARK: - Models and health

    private func models(_ dialect: FrontDialect) -> Response {
        if dialect == .anthropic { return Self.json(AnthropicHandlers.models(self.hooks.engine().resolver.listedModels())) }
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("object", "list")
        w.key("data")
        w.beginArray()
        for model in self.hooks.engine().resolver.listedModels() { Self.write(model, into: &w) }
        w.endArray()
        w.endObject()
        return Self.json(w.buffer)
    }

    private func model(id: String, _ dialect: FrontDialect) -> Response {
        guard let model = self.hooks.engine().resolver.listedModels().first(where: { $0.id == id }) else {
            return dialect.refusal(.notFound, "the model '\(id)' does not exist; GET /v1/models lists them", code: "model_not_found")
        }
        if dialect == .anthropic { return Self.json(AnthropicHandlers.model(model)) }
        var w = JSONWriter(buffer: ByteBuffer())
        Self.write(model, into: &w)
        return Self.json(w.buffer)
    }

    /// One entry of `/v1/models`, in OpenAI's model object shape.
    private static func write(_ model: ModelInfo, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", model.id)
        w.field("object", "model")
        w.field("created", 0)
        w.field("owned_by", model.route == nil ? model.provider : "llmux-route")
        w.endObject()
    }

    private static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// `GET /`: what answers here, for a person or a probe.
    private func root() -> Response {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("service", "llmuxd")
        w.field("version", LLMuxVersion.current)
        w.field("api", "/v1")
        w.endObject()
        return Self.json(w.buffer)
    }

    private func health() -> Response {
        let stopping = self.hooks.isShuttingDown()
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("status", stopping ? "shutting_down" : "ok")
        w.field("version", LLMuxVersion.current)
        w.field("in_flight", self.hooks.inFlight())
        w.endObject()
        return Self.json(w.buffer, status: stopping ? .serviceUnavailable : .ok)
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}

/// Lets the queue's overflow handler cancel the engine task created after the queue. One lock
/// holds both the task and whether it was cancelled, so a `cancel` that comes before, during or
/// after `set` always reaches the task (with two locks, `set` could read "not cancelled", then
/// `cancel` find no task yet, and the task would run on).
final class QueueBox: Sendable {
    private enum State {
        case waiting
        case running(Task<Void, Never>)
        case cancelled
    }

    private let state = NIOLockedValueBox(State.waiting)

    func set(_ task: Task<Void, Never>) {
        let cancelNow = self.state.withLockedValue { state -> Bool in
            if case .cancelled = state { return true }
            state = .running(task)
            return false
        }
        if cancelNow { task.cancel() }
    }

    func cancel() {
        let task = self.state.withLockedValue { state -> Task<Void, Never>? in
            defer { state = .cancelled }
            if case .running(let task) = state { return task }
            return nil
        }
        task?.cancel()
    }
}
