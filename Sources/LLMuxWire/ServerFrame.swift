public import NIOCore

/// A frame sent by the daemon to a client.
public enum ServerFrame: Sendable, Hashable {
    case hello(ServerHello)
    case start(id: String, model: String, provider: String)
    case delta(DeltaFrame)
    case done(DoneFrame)
    /// `id` is `nil` when the error concerns a line whose id could not be read.
    case error(id: String?, WireError)
    case pong(id: String)
    case models(id: String, models: [ModelInfo], defaultModel: String?)
    case status(id: String, DaemonStatus)

    /// The request id this frame belongs to, if any.
    public var id: String? {
        switch self {
        case .hello: return nil
        case .start(let id, _, _), .pong(let id), .models(let id, _, _), .status(let id, _): return id
        case .delta(let delta): return delta.id
        case .done(let done): return done.id
        case .error(let id, _): return id
        }
    }

    /// Whether this frame ends its request (`done` or `error`).
    public var isTerminal: Bool {
        switch self {
        case .done, .error: return true
        default: return false
        }
    }
}

// MARK: - Encoding

extension ServerFrame {
    /// Appends this frame as one NDJSON line (newline included).
    public func encode(into buffer: inout ByteBuffer) {
        var w = JSONWriter(buffer: buffer)
        w.beginObject()
        switch self {
        case .hello(let hello):
            w.field("type", "hello")
            w.field("protocol", hello.protocolVersion)
            w.field("server", hello.server)
            w.field("version", hello.version)
            w.key("limits")
            w.beginObject()
            w.field("max_line_bytes", hello.limits.maxLineBytes)
            w.field("max_in_flight", hello.limits.maxInFlight)
            w.endObject()
        case .start(let id, let model, let provider):
            w.field("type", "start")
            w.field("id", id)
            w.field("model", model)
            w.field("provider", provider)
        case .delta(let delta):
            w.field("type", "delta")
            w.field("id", delta.id)
            w.field("seq", delta.seq)
            if let text = delta.text { w.field("text", text) }
            if let reasoning = delta.reasoning { w.field("reasoning", reasoning) }
            if !delta.toolCalls.isEmpty {
                w.key("tool_calls")
                w.beginArray()
                for call in delta.toolCalls {
                    w.beginObject()
                    w.field("index", call.index)
                    if let id = call.id { w.field("id", id) }
                    if let name = call.name { w.field("name", name) }
                    if let arguments = call.arguments { w.field("arguments", arguments) }
                    w.endObject()
                }
                w.endArray()
            }
        case .done(let done):
            w.field("type", "done")
            w.field("id", done.id)
            w.field("finish_reason", done.finishReason)
            w.key("usage")
            if let usage = done.usage {
                w.beginObject()
                w.field("input_tokens", usage.inputTokens)
                w.field("output_tokens", usage.outputTokens)
                w.field("cached_tokens", usage.cachedTokens)
                w.field("reasoning_tokens", usage.reasoningTokens)
                w.endObject()
            } else {
                w.null()
            }
            w.field("model", done.model)
            w.field("provider", done.provider)
            w.key("timing")
            w.beginObject()
            w.key("ttft_ms")
            if let ttft = done.timing.ttftMs { w.int(ttft) } else { w.null() }
            w.field("total_ms", done.timing.totalMs)
            w.endObject()
        case .error(let id, let error):
            w.field("type", "error")
            w.field("id", id)
            w.field("code", error.code.rawValue)
            w.field("message", error.message)
            w.field("retryable", error.retryable)
            if let status = error.httpStatus { w.field("http_status", status) }
            if let retryAfter = error.retryAfterMs { w.field("retry_after_ms", retryAfter) }
        case .pong(let id):
            w.field("type", "pong")
            w.field("id", id)
        case .models(let id, let models, let defaultModel):
            w.field("type", "models")
            w.field("id", id)
            w.field("default", defaultModel)
            w.key("models")
            w.beginArray()
            for model in models {
                w.beginObject()
                w.field("id", model.id)
                w.field("provider", model.provider)
                w.field("upstream_model", model.upstreamModel)
                w.endObject()
            }
            w.endArray()
        case .status(let id, let status):
            w.field("type", "status")
            w.field("id", id)
            w.field("version", status.version)
            w.field("pid", status.pid)
            w.field("uptime_ms", status.uptimeMs)
            w.field("connections", status.connections)
            w.field("in_flight", status.inFlight)
            w.field("requests_total", status.requestsTotal)
            w.field("providers", JSONValue.array(status.providers.map { .string($0) }))
        }
        w.endObject()
        buffer = w.buffer
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The frame as one line of text, without the newline.
    public var jsonLine: String {
        var buffer = ByteBuffer()
        self.encode(into: &buffer)
        return String(buffer.readString(length: buffer.readableBytes - 1)!)
    }
}

// MARK: - Decoding (used by clients)

extension ServerFrame {
    /// Decodes one line sent by the daemon (without its newline).
    public static func decode(line: some Collection<UInt8>) throws(FrameDecodingError) -> ServerFrame {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw FrameDecodingError(.parseError, "the daemon sent a line that is not valid JSON")
        }
        return try decode(value)
    }

    public static func decode(_ value: JSONValue) throws(FrameDecodingError) -> ServerFrame {
        guard case .object(let o) = value else {
            throw FrameDecodingError(.parseError, "a frame must be a JSON object")
        }
        func fail(_ message: String) -> FrameDecodingError { FrameDecodingError(.upstreamProtocol, message) }
        func string(_ key: String) throws(FrameDecodingError) -> String {
            guard let s = o[key]?.stringValue else { throw fail("frame field '\(key)' must be a string") }
            return s
        }
        func int(_ key: String, in object: [String: JSONValue]? = nil) throws(FrameDecodingError) -> Int {
            guard let i = (object ?? o)[key]?.intValue else { throw fail("frame field '\(key)' must be an integer") }
            return Int(i)
        }
        switch o["type"]?.stringValue {
        case "hello"?:
            let limits = o["limits"]?.objectValue ?? [:]
            return .hello(
                ServerHello(
                    protocolVersion: try int("protocol"),
                    server: try string("server"),
                    version: try string("version"),
                    limits: ProtocolLimits(
                        maxLineBytes: try int("max_line_bytes", in: limits),
                        maxInFlight: try int("max_in_flight", in: limits)
                    )
                )
            )
        case "start"?:
            return .start(id: try string("id"), model: try string("model"), provider: try string("provider"))
        case "delta"?:
            var calls: [ToolCallFragment] = []
            for item in o["tool_calls"]?.arrayValue ?? [] {
                guard let call = item.objectValue else { throw fail("tool_calls entries must be objects") }
                calls.append(
                    ToolCallFragment(
                        index: try int("index", in: call),
                        id: call["id"]?.stringValue,
                        name: call["name"]?.stringValue,
                        arguments: call["arguments"]?.stringValue
                    )
                )
            }
            return .delta(
                DeltaFrame(
                    id: try string("id"),
                    seq: try int("seq"),
                    text: o["text"]?.stringValue,
                    reasoning: o["reasoning"]?.stringValue,
                    toolCalls: calls
                )
            )
        case "done"?:
            var usage: Usage?
            if let u = o["usage"]?.objectValue {
                usage = Usage(
                    inputTokens: try int("input_tokens", in: u),
                    outputTokens: try int("output_tokens", in: u),
                    cachedTokens: try int("cached_tokens", in: u),
                    reasoningTokens: try int("reasoning_tokens", in: u)
                )
            }
            let timing = o["timing"]?.objectValue ?? [:]
            return .done(
                DoneFrame(
                    id: try string("id"),
                    finishReason: try string("finish_reason"),
                    usage: usage,
                    model: try string("model"),
                    provider: try string("provider"),
                    timing: Timing(
                        ttftMs: timing["ttft_ms"]?.intValue.map { Int($0) },
                        totalMs: try int("total_ms", in: timing)
                    )
                )
            )
        case "error"?:
            let codeText = try string("code")
            // An unknown code from a newer daemon still reads as an error.
            let code = WireErrorCode(rawValue: codeText) ?? .internal
            return .error(
                id: o["id"]?.stringValue,
                WireError(
                    code,
                    try string("message"),
                    retryable: o["retryable"]?.boolValue ?? false,
                    httpStatus: o["http_status"]?.intValue.map { Int($0) },
                    retryAfterMs: o["retry_after_ms"]?.intValue.map { Int($0) }
                )
            )
        case "pong"?:
            return .pong(id: try string("id"))
        case "models"?:
            var models: [ModelInfo] = []
            for item in o["models"]?.arrayValue ?? [] {
                guard let m = item.objectValue, let id = m["id"]?.stringValue,
                    let provider = m["provider"]?.stringValue, let upstream = m["upstream_model"]?.stringValue
                else { throw fail("models entries need id, provider and upstream_model") }
                models.append(ModelInfo(id: id, provider: provider, upstreamModel: upstream))
            }
            return .models(id: try string("id"), models: models, defaultModel: o["default"]?.stringValue)
        case "status"?:
            return .status(
                id: try string("id"),
                DaemonStatus(
                    version: try string("version"),
                    pid: try int("pid"),
                    uptimeMs: try int("uptime_ms"),
                    connections: try int("connections"),
                    inFlight: try int("in_flight"),
                    requestsTotal: try int("requests_total"),
                    providers: (o["providers"]?.arrayValue ?? []).compactMap { $0.stringValue }
                )
            )
        default:
            throw fail("unknown frame type")
        }
    }
}
