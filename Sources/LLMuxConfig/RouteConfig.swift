/// A model alias that spreads requests over several provider/model targets.
///
/// `[routes.NAME]` in the config. A route name is usable wherever a model
/// name is: the `chat` frame's `model`, `llmux -m`, and `default_model`.
public struct RouteConfig: Sendable, Hashable {
    /// How the targets are ordered for each request.
    public enum Strategy: Sendable, Hashable {
        /// In the configured order.
        case fallback
        /// Randomly, each target drawn with probability proportional to its weight.
        case weighted([Double])
        /// Lowest recent time to first token first, with a little exploration.
        case latency
        /// In order, but when the running attempt has produced no token after
        /// `delayMs`, the next target is started beside it; the first token wins.
        case hedge(delayMs: Int)
        /// Cheapest estimated cost for the request first (its prompt and
        /// `max_tokens` at each target's prices); unpriced targets last.
        case cost

        public var name: String {
            switch self {
            case .cost: return "cost"
            case .fallback: return "fallback"
            case .weighted: return "weighted"
            case .latency: return "latency"
            case .hedge: return "hedge"
            }
        }
    }

    public var name: String
    public var targets: [RouteTarget]
    public var strategy: Strategy
    /// Extra attempts on the same target after a retryable failure, before moving on.
    public var retries: Int
    /// Base of the exponential backoff between retries on one target.
    public var backoffMs: Int
    /// HTTP statuses that move the request to the next target (before the
    /// first token). Any other error status goes to the client at once.
    public var fallbackStatuses: Set<Int>
    public var timeouts: TimeoutOverrides
    /// `on_budget = "downgrade:OTHER"`: over budget, serve the request by route OTHER instead.
    public var downgradeRoute: String?

    public init(
        name: String,
        targets: [RouteTarget],
        strategy: Strategy = .fallback,
        retries: Int = 0,
        backoffMs: Int = 250,
        fallbackStatuses: Set<Int> = RouteConfig.defaultFallbackStatuses,
        timeouts: TimeoutOverrides = TimeoutOverrides()
    ) {
        self.name = name
        self.targets = targets
        self.strategy = strategy
        self.retries = retries
        self.backoffMs = backoffMs
        self.fallbackStatuses = fallbackStatuses
        self.timeouts = timeouts
    }

    /// 408, 409, 425, 429, 500, 502, 503, 504 and 529.
    public static let defaultFallbackStatuses: Set<Int> = [408, 409, 425, 429, 500, 502, 503, 504, 529]
}

/// One provider/model pair a route can send a request to.
public struct RouteTarget: Sendable, Hashable, CustomStringConvertible {
    public var provider: String
    public var upstreamModel: String

    public init(provider: String, upstreamModel: String) {
        self.provider = provider
        self.upstreamModel = upstreamModel
    }

    /// `provider/model`, the name used in frames, logs and `llmux status`.
    public var description: String { "\(self.provider)/\(self.upstreamModel)" }
}

/// Time limits that override the global `[timeouts]` for a provider or a
/// route. `nil` leaves the limit to the next level; `0` turns it off.
public struct TimeoutOverrides: Sendable, Hashable {
    public var headerMs: Int?
    public var firstTokenMs: Int?
    public var idleMs: Int?
    public var totalMs: Int?

    public init(headerMs: Int? = nil, firstTokenMs: Int? = nil, idleMs: Int? = nil, totalMs: Int? = nil) {
        self.headerMs = headerMs
        self.firstTokenMs = firstTokenMs
        self.idleMs = idleMs
        self.totalMs = totalMs
    }
}

/// Daemon-wide routing settings: `[router]`.
public struct RouterConfig: Sendable, Hashable {
    /// Consecutive failures of one target that open its circuit breaker.
    public var breakerFailures: Int = 5
    /// How long an open breaker stays open before one probe request is let through.
    public var breakerOpenMs: Int = 30_000
    /// Share of `latency` requests that try a target other than the fastest first.
    public var exploration: Double = 0.05
    /// Cooldown after a 429 that carried no Retry-After.
    public var defaultCooldownMs: Int = 1_000
    /// Defaults for routes that do not set them (plain model names use these too).
    public var retries: Int = 0
    public var backoffMs: Int = 250

    public init() {}
}

extension TimeoutConfig {
    /// The limits for one request: `request` (the `timeout_ms` of a chat
    /// frame, a total) beats the route, which beats the provider, which beats
    /// the global `[timeouts]`.
    public func resolved(route: TimeoutOverrides?, provider: TimeoutOverrides?, requestTotalMs: Int?) -> TimeoutConfig {
        func pick(_ global: Int?, _ keyPath: KeyPath<TimeoutOverrides, Int?>) -> Int? {
            let chosen = route?[keyPath: keyPath] ?? provider?[keyPath: keyPath]
            guard let chosen else { return global }
            return chosen == 0 ? nil : chosen
        }
        var limits = self
        limits.headerMs = pick(self.headerMs, \.headerMs)
        limits.firstTokenMs = pick(self.firstTokenMs, \.firstTokenMs)
        limits.idleMs = pick(self.idleMs, \.idleMs)
        limits.totalMs = requestTotalMs ?? pick(self.totalMs, \.totalMs)
        return limits
    }
}
