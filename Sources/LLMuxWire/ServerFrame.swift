public import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A frame sent by the daemon to a client.
public enum ServerFrame: Sendable, Hashable {
    case hello(ServerHello)
    /// `route` is the route the request named, when it named one.
    case start(id: String, model: String, provider: String, route: String? = nil)
    case delta(DeltaFrame)
    case done(DoneFrame)
    /// The answer to an `embed` request: terminal, and the request's only frame.
    case embeddings(EmbeddingsFrame)
    /// `id` is `nil` when the error concerns a line whose id could not be read.
    case error(id: String?, WireError)
    case pong(id: String)
    case models(id: String, models: [ModelInfo], defaultModel: String?)
    case status(id: String, DaemonStatus)
    /// The answer to a successful `reload`.
    case reloaded(id: String, ReloadSummary)

    /// The request id this frame belongs to, if any.
    public var id: String? {
        switch self {
        case .hello: return nil
        case .start(let id, _, _, _), .pong(let id), .models(let id, _, _), .status(let id, _), .reloaded(let id, _): return id
        case .delta(let delta): return delta.id
        case .done(let done): return done.id
        case .embeddings(let embeddings): return embeddings.id
        case .error(let id, _): return id
        }
    }

    /// Whether this frame ends its request (`done` or `error`).
    public var isTerminal: Bool {
        switch self {
        case .done, .error, .embeddings: return true
        default: return false
        }
    }
}

// MARK: - Encoding

extension ServerFrame {
    /// Appends this frame as one NDJSON line (newline included).
    public func encode(into buffer: inout ByteBuffer) {
        JSONWriter.append(to: &buffer) { w in self.encode(with: &w) }
    }

    private func encode(with w: inout JSONWriter) {
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
        case .start(let id, let model, let provider, let route):
            w.field("type", "start")
            w.field("id", id)
            w.field("model", model)
            w.field("provider", provider)
            if let route { w.field("route", route) }
        case .delta(let delta):
            w.field("type", "delta")
            w.field("id", delta.id)
            w.field("seq", delta.seq)
            if let text = delta.text { w.field("text", text) }
            if let reasoning = delta.reasoning { w.field("reasoning", reasoning) }
            if !delta.toolCalls.isEmpty { Self.encode(toolCalls: delta.toolCalls, assembled: false, with: &w) }
        case .done(let done):
            w.field("type", "done")
            w.field("id", done.id)
            w.field("finish_reason", done.finishReason)
            Self.encode(usage: done.usage, with: &w)
            w.field("model", done.model)
            w.field("provider", done.provider)
            if let route = done.route { w.field("route", route) }
            w.key("timing")
            w.beginObject()
            w.key("ttft_ms")
            if let ttft = done.timing.ttftMs { w.int(ttft) } else { w.null() }
            w.field("total_ms", done.timing.totalMs)
            w.endObject()
            Self.encode(attempts: done.attempts, with: &w)
            if let cost = done.cost { Self.encode(cost: cost, with: &w) }
            if let from = done.downgradedFrom { w.field("downgraded_from", from) }
            if !done.toolCalls.isEmpty { Self.encode(toolCalls: done.toolCalls, assembled: true, with: &w) }
            if !done.reasoningState.isEmpty { w.field("reasoning_state", JSONValue.array(done.reasoningState)) }
            if let reason = done.cancelReason { w.field("reason", reason) }
        case .embeddings(let embeddings):
            w.field("type", "embeddings")
            w.field("id", embeddings.id)
            w.field("model", embeddings.model)
            w.field("provider", embeddings.provider)
            if let route = embeddings.route { w.field("route", route) }
            w.key("data")
            w.beginArray()
            for vector in embeddings.vectors {
                w.beginArray()
                for component in vector { w.double(component) }
                w.endArray()
            }
            w.endArray()
            Self.encode(usage: embeddings.usage, with: &w)
            w.key("timing")
            w.beginObject()
            w.field("total_ms", embeddings.totalMs)
            w.endObject()
            Self.encode(attempts: embeddings.attempts, with: &w)
            if let cost = embeddings.cost { Self.encode(cost: cost, with: &w) }
        case .error(let id, let error):
            w.field("type", "error")
            w.field("id", id)
            w.field("code", error.code.rawValue)
            w.field("message", error.message)
            w.field("retryable", error.retryable)
            if let status = error.httpStatus { w.field("http_status", status) }
            if let retryAfter = error.retryAfterMs { w.field("retry_after_ms", retryAfter) }
            if error.partial { w.field("partial", true) }
            if let cause = error.cause { w.field("cause", cause.rawValue) }
            if let attempts = error.attempts { Self.encode(attempts: attempts, with: &w) }
            if let cost = error.cost { Self.encode(cost: cost, with: &w) }
            if let resetsAt = error.resetsAt { w.field("resets_at", resetsAt) }
            if let from = error.downgradedFrom { w.field("downgraded_from", from) }
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
                if let route = model.route {
                    w.field("strategy", route.strategy)
                    w.field("targets", JSONValue.array(route.targets.map { .string($0) }))
                }
                w.endObject()
            }
            w.endArray()
        case .reloaded(let id, let summary):
            w.field("type", "reloaded")
            w.field("id", id)
            w.field("config", summary.configPath)
            w.field("provider_count", summary.providers)
            w.field("model_count", summary.models)
            w.field("route_count", summary.routes)
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
            w.key("targets")
            w.beginArray()
            for target in status.targets {
                w.beginObject()
                w.field("target", target.target)
                w.field("state", target.state)
                if let retryIn = target.retryInMs { w.field("retry_in_ms", retryIn) }
                w.key("ewma_ttft_ms")
                if let ewma = target.ewmaTTFTMs { w.int(ewma) } else { w.null() }
                w.field("recent_errors", target.recentErrors)
                w.field("successes", target.successes)
                w.field("failures", target.failures)
                w.endObject()
            }
            w.endArray()
            w.key("budgets")
            w.beginArray()
            for budget in status.budgets {
                w.beginObject()
                w.field("scope", budget.scope)
                w.field("period", budget.period)
                w.key("limit_usd")
                w.double(budget.limitUSD)
                w.key("spent_usd")
                w.double(budget.spentUSD)
                w.key("reserved_usd")
                w.double(budget.reservedUSD)
                w.key("left_usd")
                w.double(budget.leftUSD)
                w.field("resets_at", budget.resetsAt)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        w.buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// `"tool_calls":[{index, id?, name?, arguments?}]`; an assembled call always has `arguments`.
    private static func encode(toolCalls: [ToolCallFragment], assembled: Bool, with w: inout JSONWriter) {
        w.key("tool_calls")
        w.beginArray()
        for call in toolCalls {
            w.beginObject()
            w.field("index", call.index)
            if let id = call.id { w.field("id", id) }
            if let name = call.name { w.field("name", name) }
            if let arguments = call.arguments ?? (assembled ? "" : nil) { w.field("arguments", arguments) }
            w.endObject()
        }
        w.endArray()
    }

    /// `"cost":{"usd":…,"estimated":…}`, or `"cost":null,"price_unknown":true`.
    /// `"usage": {...}` (or `null`): the token counts, `estimated` when llmux estimated them.
    private static func encode(usage: Usage?, with w: inout JSONWriter) {
        w.key("usage")
        guard let usage else {
            w.null()
            return
        }
        w.beginObject()
        w.field("input_tokens", usage.inputTokens)
        w.field("output_tokens", usage.outputTokens)
        w.field("cached_tokens", usage.cachedTokens)
        w.field("reasoning_tokens", usage.reasoningTokens)
        w.field("cache_write_tokens", usage.cacheWriteTokens)
        if usage.estimated { w.field("estimated", true) }
        w.endObject()
    }

    private static func encode(cost: RequestCost, with w: inout JSONWriter) {
        w.key("cost")
        if let usd = cost.usd {
            w.beginObject()
            w.key("usd")
            w.double(usd)
            w.field("estimated", cost.estimated)
            w.endObject()
        } else {
            w.null()
            w.field("price_unknown", true)
        }
    }

    private static func encode(attempts: [AttemptRecord], with w: inout JSONWriter) {
        w.key("attempts")
        w.beginArray()
        for attempt in attempts {
            w.beginObject()
            w.field("target", attempt.target)
            w.field("outcome", attempt.outcome)
            if let status = attempt.httpStatus { w.field("http_status", status) }
            w.field("ms", attempt.ms)
            w.endObject()
        }
        w.endArray()
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
    ///
    /// The line is parsed by `JSONParser` and read into one flat shape holding
    /// every field any frame may carry; the frame's type then picks its fields.
    public static func decode(line: some Collection<UInt8>) throws(FrameDecodingError) -> ServerFrame {
        guard let frame = try decodeIfKnown(line: line) else {
            throw FrameDecodingError(.upstreamProtocol, "unknown frame type")
        }
        return frame
    }

    /// Like `decode(line:)`, but a frame of a type this build does not know
    /// (from a newer daemon) gives `nil`: protocol v1 clients skip those.
    public static func decodeIfKnown(line: some Collection<UInt8>) throws(FrameDecodingError) -> ServerFrame? {
        guard let value = try? JSONParser.parse(line) else {
            throw FrameDecodingError(.parseError, "the daemon sent a line that is not valid JSON")
        }
        guard let object = JSONFields(value), let fields = try? Fields(object) else {
            throw FrameDecodingError(.parseError, "the daemon sent a line that is not a valid frame")
        }
        return try fields.frame()
    }

    /// Every field any daemon frame may carry.
    struct Fields {
        /// A field the frame's shape requires.
        static func need<T>(_ value: T?, _ key: String) throws(JSONFieldError) -> T {
            guard let value else { throw JSONFieldError(key: key, expected: "present", got: "nothing") }
            return value
        }

        struct Limits {
            var max_line_bytes: Int
            var max_in_flight: Int

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.max_line_bytes = try Fields.need(try f.int("max_line_bytes"), "max_line_bytes")
                self.max_in_flight = try Fields.need(try f.int("max_in_flight"), "max_in_flight")
            }
        }
        struct UsageFields {
            var input_tokens: Int
            var output_tokens: Int
            var cached_tokens: Int?
            var reasoning_tokens: Int?
            var cache_write_tokens: Int?
            var estimated: Bool?

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.input_tokens = try Fields.need(try f.int("input_tokens"), "input_tokens")
                self.output_tokens = try Fields.need(try f.int("output_tokens"), "output_tokens")
                self.cached_tokens = try f.int("cached_tokens")
                self.reasoning_tokens = try f.int("reasoning_tokens")
                self.cache_write_tokens = try f.int("cache_write_tokens")
                self.estimated = try f.bool("estimated")
            }
        }
        struct CostFields {
            var usd: Double
            var estimated: Bool

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.usd = try Fields.need(try f.double("usd"), "usd")
                self.estimated = try Fields.need(try f.bool("estimated"), "estimated")
            }
        }
        struct TimingFields {
            var ttft_ms: Int?
            var total_ms: Int

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.ttft_ms = try f.int("ttft_ms")
                self.total_ms = try Fields.need(try f.int("total_ms"), "total_ms")
            }
        }
        struct ToolCall {
            var index: Int
            var id: String?
            var name: String?
            var arguments: String?

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.index = try Fields.need(try f.int("index"), "index")
                self.id = try f.string("id")
                self.name = try f.string("name")
                self.arguments = try f.string("arguments")
            }
        }
        struct Attempt {
            var target: String
            var outcome: String
            var http_status: Int?
            var ms: Int

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.target = try Fields.need(try f.string("target"), "target")
                self.outcome = try Fields.need(try f.string("outcome"), "outcome")
                self.http_status = try f.int("http_status")
                self.ms = try Fields.need(try f.int("ms"), "ms")
            }
        }
        struct Target {
            var target: String
            var state: String
            var retry_in_ms: Int?
            var ewma_ttft_ms: Int?
            var recent_errors: Int
            var successes: Int
            var failures: Int

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.target = try Fields.need(try f.string("target"), "target")
                self.state = try Fields.need(try f.string("state"), "state")
                self.retry_in_ms = try f.int("retry_in_ms")
                self.ewma_ttft_ms = try f.int("ewma_ttft_ms")
                self.recent_errors = try Fields.need(try f.int("recent_errors"), "recent_errors")
                self.successes = try Fields.need(try f.int("successes"), "successes")
                self.failures = try Fields.need(try f.int("failures"), "failures")
            }
        }
        struct Budget {
            var scope: String
            var period: String
            var limit_usd: Double
            var spent_usd: Double
            var reserved_usd: Double
            var resets_at: String

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.scope = try Fields.need(try f.string("scope"), "scope")
                self.period = try Fields.need(try f.string("period"), "period")
                self.limit_usd = try Fields.need(try f.double("limit_usd"), "limit_usd")
                self.spent_usd = try Fields.need(try f.double("spent_usd"), "spent_usd")
                self.reserved_usd = try Fields.need(try f.double("reserved_usd"), "reserved_usd")
                self.resets_at = try Fields.need(try f.string("resets_at"), "resets_at")
            }
        }
        struct Model {
            var id: String
            var provider: String
            var upstream_model: String
            var strategy: String?
            var targets: [String]?

            init(_ f: JSONFields) throws(JSONFieldError) {
                self.id = try Fields.need(try f.string("id"), "id")
                self.provider = try Fields.need(try f.string("provider"), "provider")
                self.upstream_model = try Fields.need(try f.string("upstream_model"), "upstream_model")
                self.strategy = try f.string("strategy")
                self.targets = try f.strings("targets")
            }
        }

        var type: String
        var id: String?
        var `protocol`: Int?
        var server: String?
        var version: String?
        var limits: Limits?
        var model: String?
        var provider: String?
        var seq: Int?
        var text: String?
        var reasoning: String?
        var tool_calls: [ToolCall]?
        var finish_reason: String?
        var usage: UsageFields?
        var timing: TimingFields?
        var code: String?
        var message: String?
        var retryable: Bool?
        var http_status: Int?
        var retry_after_ms: Int?
        var `default`: String?
        var models: [Model]?
        var pid: Int?
        var uptime_ms: Int?
        var connections: Int?
        var in_flight: Int?
        var requests_total: Int?
        var providers: [String]?
        var config: String?
        var provider_count: Int?
        var model_count: Int?
        var route_count: Int?
        var route: String?
        var attempts: [Attempt]?
        var partial: Bool?
        var cost: CostFields?
        var resets_at: String?
        var downgraded_from: String?
        var budgets: [Budget]?
        var price_unknown: Bool?
        var cause: String?
        var targets: [Target]?
        var reasoning_state: [JSONValue]?
        var reason: String?
        /// An `embeddings` frame's vectors.
        var data: [[Double]]?

        init(_ f: JSONFields) throws(JSONFieldError) {
            self.type = try Fields.need(try f.string("type"), "type")
            self.id = try f.string("id")
            self.`protocol` = try f.int("protocol")
            self.server = try f.string("server")
            self.version = try f.string("version")
            self.limits = try f.fields("limits").map { f throws(JSONFieldError) in try Limits(f) }
            self.model = try f.string("model")
            self.provider = try f.string("provider")
            self.seq = try f.int("seq")
            self.text = try f.string("text")
            self.reasoning = try f.string("reasoning")
            self.tool_calls = try f.fieldsArray("tool_calls")?.map { f throws(JSONFieldError) in try ToolCall(f) }
            self.reasoning_state = try f.array("reasoning_state")
            self.reason = try f.string("reason")
            self.data = try f.array("data").map { rows throws(JSONFieldError) in
                try rows.map { row throws(JSONFieldError) in
                    guard case .array(let numbers) = row else { throw JSONFieldError(key: "data", expected: "array of numbers", got: row.typeName) }
                    return try numbers.map { number throws(JSONFieldError) in
                        guard let value = number.doubleValue else { throw JSONFieldError(key: "data", expected: "number", got: number.typeName) }
                        return value
                    }
                }
            }
            self.finish_reason = try f.string("finish_reason")
            self.usage = try f.fields("usage").map { f throws(JSONFieldError) in try UsageFields(f) }
            self.timing = try f.fields("timing").map { f throws(JSONFieldError) in try TimingFields(f) }
            self.code = try f.string("code")
            self.message = try f.string("message")
            self.retryable = try f.bool("retryable")
            self.http_status = try f.int("http_status")
            self.retry_after_ms = try f.int("retry_after_ms")
            self.`default` = try f.string("default")
            self.models = try f.fieldsArray("models")?.map { f throws(JSONFieldError) in try Model(f) }
            self.pid = try f.int("pid")
            self.uptime_ms = try f.int("uptime_ms")
            self.connections = try f.int("connections")
            self.in_flight = try f.int("in_flight")
            self.requests_total = try f.int("requests_total")
            self.providers = try f.strings("providers")
            self.config = try f.string("config")
            self.provider_count = try f.int("provider_count")
            self.model_count = try f.int("model_count")
            self.route_count = try f.int("route_count")
            self.route = try f.string("route")
            self.attempts = try f.fieldsArray("attempts")?.map { f throws(JSONFieldError) in try Attempt(f) }
            self.partial = try f.bool("partial")
            self.cost = try f.fields("cost").map { f throws(JSONFieldError) in try CostFields(f) }
            self.resets_at = try f.string("resets_at")
            self.downgraded_from = try f.string("downgraded_from")
            self.budgets = try f.fieldsArray("budgets")?.map { f throws(JSONFieldError) in try Budget(f) }
            self.price_unknown = try f.bool("price_unknown")
            self.cause = try f.string("cause")
            self.targets = try f.fieldsArray("targets")?.map { f throws(JSONFieldError) in try Target(f) }
        }

        var requestCost: RequestCost? {
            if let cost { return RequestCost(usd: cost.usd, estimated: cost.estimated) }
            return self.price_unknown == true ? RequestCost(usd: nil, estimated: false) : nil
        }

        var wireUsage: Usage? {
            self.usage.map {
                Usage(
                    inputTokens: $0.input_tokens,
                    outputTokens: $0.output_tokens,
                    cachedTokens: $0.cached_tokens ?? 0,
                    reasoningTokens: $0.reasoning_tokens ?? 0,
                    cacheWriteTokens: $0.cache_write_tokens ?? 0,
                    estimated: $0.estimated ?? false
                )
            }
        }

        var attemptRecords: [AttemptRecord]? {
            self.attempts?.map { AttemptRecord(target: $0.target, outcome: $0.outcome, httpStatus: $0.http_status, ms: $0.ms) }
        }

        func require<T>(_ value: T?, _ name: String) throws(FrameDecodingError) -> T {
            guard let value else {
                throw FrameDecodingError(.upstreamProtocol, "a '\(self.type)' frame lacks its field '\(name)'")
            }
            return value
        }

        func frame() throws(FrameDecodingError) -> ServerFrame? {
            switch self.type {
            case "hello":
                let limits = try require(self.limits, "limits")
                return .hello(
                    ServerHello(
                        protocolVersion: try require(self.protocol, "protocol"),
                        server: try require(self.server, "server"),
                        version: try require(self.version, "version"),
                        limits: ProtocolLimits(maxLineBytes: limits.max_line_bytes, maxInFlight: limits.max_in_flight)
                    )
                )
            case "start":
                return .start(
                    id: try require(self.id, "id"),
                    model: try require(self.model, "model"),
                    provider: try require(self.provider, "provider"),
                    route: self.route
                )
            case "delta":
                return .delta(
                    DeltaFrame(
                        id: try require(self.id, "id"),
                        seq: try require(self.seq, "seq"),
                        text: self.text,
                        reasoning: self.reasoning,
                        toolCalls: (self.tool_calls ?? []).map {
                            ToolCallFragment(index: $0.index, id: $0.id, name: $0.name, arguments: $0.arguments)
                        }
                    )
                )
            case "embeddings":
                return .embeddings(
                    EmbeddingsFrame(
                        id: try require(self.id, "id"),
                        vectors: try require(self.data, "data"),
                        usage: self.wireUsage,
                        model: try require(self.model, "model"),
                        provider: try require(self.provider, "provider"),
                        route: self.route,
                        totalMs: try require(self.timing, "timing").total_ms,
                        attempts: self.attemptRecords ?? [],
                        cost: self.requestCost
                    ))
            case "done":
                let timing = try require(self.timing, "timing")
                var done = DoneFrame(
                    id: try require(self.id, "id"),
                    finishReason: try require(self.finish_reason, "finish_reason"),
                    usage: self.wireUsage,
                    model: try require(self.model, "model"),
                    provider: try require(self.provider, "provider"),
                    route: self.route,
                    timing: Timing(ttftMs: timing.ttft_ms, totalMs: timing.total_ms),
                    attempts: self.attemptRecords ?? [],
                    cost: self.requestCost,
                    downgradedFrom: self.downgraded_from,
                    toolCalls: (self.tool_calls ?? []).map {
                        ToolCallFragment(index: $0.index, id: $0.id, name: $0.name, arguments: $0.arguments)
                    },
                    reasoningState: self.reasoning_state ?? []
                )
                done.cancelReason = self.reason
                return .done(done)
            case "error":
                let codeText = try require(self.code, "code")
                // An unknown code from a newer daemon is kept as it came (`isKnown` false).
                var error = WireError(
                    WireErrorCode(rawValue: codeText),
                    try require(self.message, "message"),
                    retryable: self.retryable ?? false,
                    httpStatus: self.http_status,
                    retryAfterMs: self.retry_after_ms
                )
                error.partial = self.partial ?? false
                error.cause = self.cause.map { WireErrorCode(rawValue: $0) }
                error.attempts = self.attemptRecords
                error.cost = self.requestCost
                error.resetsAt = self.resets_at
                error.downgradedFrom = self.downgraded_from
                return .error(id: self.id, error)
            case "pong":
                return .pong(id: try require(self.id, "id"))
            case "models":
                return .models(
                    id: try require(self.id, "id"),
                    models: (self.models ?? []).map { model in
                        ModelInfo(
                            id: model.id,
                            provider: model.provider,
                            upstreamModel: model.upstream_model,
                            route: model.targets.map { RouteInfo(strategy: model.strategy ?? "fallback", targets: $0) }
                        )
                    },
                    defaultModel: self.default
                )
            case "status":
                return .status(
                    id: try require(self.id, "id"),
                    DaemonStatus(
                        version: try require(self.version, "version"),
                        pid: try require(self.pid, "pid"),
                        uptimeMs: try require(self.uptime_ms, "uptime_ms"),
                        connections: try require(self.connections, "connections"),
                        inFlight: try require(self.in_flight, "in_flight"),
                        requestsTotal: try require(self.requests_total, "requests_total"),
                        providers: self.providers ?? [],
                        targets: (self.targets ?? []).map {
                            TargetHealthInfo(
                                target: $0.target,
                                state: $0.state,
                                retryInMs: $0.retry_in_ms,
                                ewmaTTFTMs: $0.ewma_ttft_ms,
                                recentErrors: $0.recent_errors,
                                successes: $0.successes,
                                failures: $0.failures
                            )
                        },
                        budgets: (self.budgets ?? []).map {
                            BudgetStatus(
                                scope: $0.scope,
                                period: $0.period,
                                limitUSD: $0.limit_usd,
                                spentUSD: $0.spent_usd,
                                reservedUSD: $0.reserved_usd,
                                resetsAt: $0.resets_at
                            )
                        }
                    )
                )
            case "reloaded":
                return .reloaded(
                    id: try require(self.id, "id"),
                    ReloadSummary(
                        configPath: self.config,
                        providers: try require(self.provider_count, "provider_count"),
                        models: try require(self.model_count, "model_count"),
                        routes: try require(self.route_count, "route_count")
                    )
                )
            default:
                return nil
            }
        }
    }
}
