/// One piece of a streamed tool call. The first fragment of a call carries
/// `id` and `name`; later ones carry only `index` and an `arguments` piece.
/// Concatenating the `arguments` pieces of one `index` gives the full JSON text.
public struct ToolCallFragment: Sendable, Hashable {
    /// The tool call's ordinal within the answer (0, 1, ...).
    public var index: Int
    public var id: String?
    public var name: String?
    public var arguments: String?

    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Token counts for one request, as reported by the upstream.
public struct Usage: Sendable, Hashable {
    /// Prompt tokens, cached ones included.
    public var inputTokens: Int
    /// Completion tokens, reasoning tokens included.
    public var outputTokens: Int
    /// Prompt tokens served from the provider's cache.
    public var cachedTokens: Int
    /// Completion tokens spent on reasoning.
    public var reasoningTokens: Int
    /// Prompt tokens written to the provider's cache (Anthropic's `cache_creation_input_tokens`),
    /// billed above the input price; part of `inputTokens`, apart from `cachedTokens`.
    public var cacheWriteTokens: Int
    /// The part of `cacheWriteTokens` written to the 1-hour cache (billed higher than the
    /// 5-minute one). Used for the cost; not sent in frames.
    public var cacheWrite1hTokens: Int
    /// The counts were estimated by llmux, not reported by the upstream.
    public var estimated: Bool

    public init(
        inputTokens: Int,
        outputTokens: Int,
        cachedTokens: Int = 0,
        reasoningTokens: Int = 0,
        cacheWriteTokens: Int = 0,
        cacheWrite1hTokens: Int = 0,
        estimated: Bool = false
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.cacheWrite1hTokens = cacheWrite1hTokens
        self.estimated = estimated
    }
}

/// Timing of one request, measured by the daemon from the moment it accepted the `chat` frame.
public struct Timing: Sendable, Hashable {
    /// Time to the first delta; `nil` when no delta was produced.
    public var ttftMs: Int?
    public var totalMs: Int

    public init(ttftMs: Int?, totalMs: Int) {
        self.ttftMs = ttftMs
        self.totalMs = totalMs
    }
}

/// A `delta` frame: newly produced output of one request.
public struct DeltaFrame: Sendable, Hashable {
    public var id: String
    /// 0, 1, 2, ... per request, without gaps.
    public var seq: Int
    public var text: String?
    public var reasoning: String?
    public var toolCalls: [ToolCallFragment]
    /// The upstream's own events behind this delta, in order, when the request passed through
    /// in its dialect (`NativeRequest`): the HTTP front writes these instead of encoding the
    /// text. Such a delta may carry nothing else. Never written on the socket, whose requests
    /// never pass through.
    public var native: [NativeEvent]

    public init(
        id: String, seq: Int, text: String? = nil, reasoning: String? = nil, toolCalls: [ToolCallFragment] = [], native: [NativeEvent] = []
    ) {
        self.id = id
        self.seq = seq
        self.text = text
        self.reasoning = reasoning
        self.toolCalls = toolCalls
        self.native = native
    }
}

/// A `done` frame: the request ended without error.
public struct DoneFrame: Sendable, Hashable {
    public var id: String
    /// `stop`, `length`, `tool_calls`, `content_filter`, ... as sent by the
    /// upstream, or `cancelled` when the client cancelled.
    public var finishReason: String
    public var usage: Usage?
    public var model: String
    public var provider: String
    /// The route the request named, when it named one.
    public var route: String?
    public var timing: Timing
    /// Every target tried (or skipped), in order; the last `ok` one produced the answer.
    public var attempts: [AttemptRecord]
    /// What the request cost; `nil` only from daemons that do not price requests.
    public var cost: RequestCost?
    /// The route the request named, when a budget sent it to `route` (its `on_budget` downgrade) instead.
    public var downgradedFrom: String?
    /// The tool calls of the answer, assembled (full `arguments` text), in ordinal order.
    public var toolCalls: [ToolCallFragment]
    /// What the upstream gave to send back with this turn for its reasoning to carry on
    /// (Anthropic's signed thinking blocks, OpenAI's encrypted reasoning items), in order; each
    /// item is opaque but for its `format`, the upstream kind that takes it back.
    public var reasoningState: [JSONValue]
    /// Why a cancelled request was cancelled, when not by its client's `cancel` or hang-up:
    /// `superseded` (a newer `complete` with the same `supersede` key).
    public var cancelReason: String?

    public init(
        id: String,
        finishReason: String,
        usage: Usage?,
        model: String,
        provider: String,
        route: String? = nil,
        timing: Timing,
        attempts: [AttemptRecord] = [],
        cost: RequestCost? = nil,
        downgradedFrom: String? = nil,
        toolCalls: [ToolCallFragment] = [],
        reasoningState: [JSONValue] = []
    ) {
        self.toolCalls = toolCalls
        self.reasoningState = reasoningState
        self.cost = cost
        self.downgradedFrom = downgradedFrom
        self.id = id
        self.finishReason = finishReason
        self.usage = usage
        self.model = model
        self.provider = provider
        self.route = route
        self.timing = timing
        self.attempts = attempts
    }
}

/// The daemon's answer to `hello`.
public struct ServerHello: Sendable, Hashable {
    public var protocolVersion: Int
    public var server: String
    public var version: String
    public var limits: ProtocolLimits

    public init(protocolVersion: Int, server: String, version: String, limits: ProtocolLimits) {
        self.protocolVersion = protocolVersion
        self.server = server
        self.version = version
        self.limits = limits
    }
}

/// One entry of a `models` frame.
public struct ModelInfo: Sendable, Hashable {
    /// The name a client puts in `chat.model`.
    public var id: String
    public var provider: String
    /// The model id sent to the provider (for a route: of its first target).
    public var upstreamModel: String
    /// Set when `id` names a route.
    public var route: RouteInfo?

    public init(id: String, provider: String, upstreamModel: String, route: RouteInfo? = nil) {
        self.id = id
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.route = route
    }
}

/// How a route spreads its requests, for `models` frames.
public struct RouteInfo: Sendable, Hashable {
    /// `fallback`, `weighted`, `latency` or `hedge`.
    public var strategy: String
    /// `provider/model` of each target, in configured order.
    public var targets: [String]

    public init(strategy: String, targets: [String]) {
        self.strategy = strategy
        self.targets = targets
    }
}

/// One budget's state, for `status`.
public struct BudgetStatus: Sendable, Hashable {
    /// `global`, `route:NAME` or `client:NAME`.
    public var scope: String
    /// `day` or `month`.
    public var period: String
    public var limitUSD: Double
    public var spentUSD: Double
    /// Worst-case cost of requests still running.
    public var reservedUSD: Double
    public var resetsAt: String

    public var leftUSD: Double { max(0, self.limitUSD - self.spentUSD - self.reservedUSD) }

    public init(scope: String, period: String, limitUSD: Double, spentUSD: Double, reservedUSD: Double, resetsAt: String) {
        self.scope = scope
        self.period = period
        self.limitUSD = limitUSD
        self.spentUSD = spentUSD
        self.reservedUSD = reservedUSD
        self.resetsAt = resetsAt
    }
}

/// What a successful `reload` loaded.
public struct ReloadSummary: Sendable, Hashable {
    /// The file read; `nil` in zero-config mode (the environment was read again).
    public var configPath: String?
    public var providers: Int
    public var models: Int
    public var routes: Int

    public init(configPath: String?, providers: Int, models: Int, routes: Int) {
        self.configPath = configPath
        self.providers = providers
        self.models = models
        self.routes = routes
    }
}

/// The payload of a `status` frame.
public struct DaemonStatus: Sendable, Hashable {
    public var version: String
    public var pid: Int
    public var uptimeMs: Int
    public var connections: Int
    public var inFlight: Int
    public var requestsTotal: Int
    public var providers: [String]
    /// Health of every target tried since the daemon started.
    public var targets: [TargetHealthInfo]
    /// What is left of each budget.
    public var budgets: [BudgetStatus]

    public init(
        version: String,
        pid: Int,
        uptimeMs: Int,
        connections: Int,
        inFlight: Int,
        requestsTotal: Int,
        providers: [String],
        targets: [TargetHealthInfo] = [],
        budgets: [BudgetStatus] = []
    ) {
        self.targets = targets
        self.budgets = budgets
        self.version = version
        self.pid = pid
        self.uptimeMs = uptimeMs
        self.connections = connections
        self.inFlight = inFlight
        self.requestsTotal = requestsTotal
        self.providers = providers
    }
}
