/// A model alias that spreads requests over several provider/model targets.
///
/// `[routes.NAME]` in the config. A route name is usable wherever a model
/// name is: the `chat` frame's `model`, `llmux -m`, and `default_model`.
package struct RouteConfig: Sendable, Hashable {
    /// How the targets are ordered for each request.
    package enum Strategy: Sendable, Hashable {
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

        package var name: String {
            switch self {
            case .cost: return "cost"
            case .fallback: return "fallback"
            case .weighted: return "weighted"
            case .latency: return "latency"
            case .hedge: return "hedge"
            }
        }
    }

    package var name: String
    package var targets: [RouteTarget]
    package var strategy: Strategy
    /// Extra attempts on the same target after a retryable failure, before moving on.
    package var retries: Int
    /// Base of the exponential backoff between retries on one target.
    package var backoffMs: Int
    /// HTTP statuses that move the request to the next target (before the
    /// first token). Any other error status goes to the client at once.
    package var fallbackStatuses: Set<Int>
    package var timeouts: TimeoutOverrides
    /// `on_budget = "downgrade:OTHER"`: over budget, serve the request by route OTHER instead.
    package var downgradeRoute: String?

    package init(
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
    package static let defaultFallbackStatuses: Set<Int> = [408, 409, 425, 429, 500, 502, 503, 504, 529]
}

/// One provider/model pair a route can send a request to.
extension RouteConfig {
    /// This route with only `kept` (a subset of its targets, in its order); a weighted
    /// route keeps the weights of the targets it keeps.
    package func keeping(_ kept: [RouteTarget]) -> RouteConfig {
        var route = self
        if case .weighted(let weights) = self.strategy {
            route.strategy = .weighted(zip(self.targets, weights).filter { kept.contains($0.0) }.map(\.1))
        }
        route.targets = self.targets.filter(kept.contains)
        return route
    }
}

package struct RouteTarget: Sendable, Hashable, CustomStringConvertible {
    package var provider: String
    package var upstreamModel: String

    package init(provider: String, upstreamModel: String) {
        self.provider = provider
        self.upstreamModel = upstreamModel
    }

    /// `provider/model`, the name used in frames, logs and `llmux status`.
    package var description: String { "\(self.provider)/\(self.upstreamModel)" }
}

/// Time limits that override the global `[timeouts]` for a provider or a
/// route. `nil` leaves the limit to the next level; `0` turns it off.
package struct TimeoutOverrides: Sendable, Hashable {
    package var headerMs: Int?
    package var firstTokenMs: Int?
    package var idleMs: Int?
    package var totalMs: Int?

    package init(headerMs: Int? = nil, firstTokenMs: Int? = nil, idleMs: Int? = nil, totalMs: Int? = nil) {
        self.headerMs = headerMs
        self.firstTokenMs = firstTokenMs
        self.idleMs = idleMs
        self.totalMs = totalMs
    }
}

/// Daemon-wide routing settings: `[router]`.
package struct RouterConfig: Sendable, Hashable {
    /// Consecutive failures of one target that open its circuit breaker.
    package var breakerFailures: Int = 5
    /// How long an open breaker stays open before one probe request is let through.
    package var breakerOpenMs: Int = 30_000
    /// Share of `latency` requests that try a target other than the fastest first.
    package var exploration: Double = 0.05
    /// Cooldown after a 429 that carried no Retry-After.
    package var defaultCooldownMs: Int = 1_000
    /// Defaults for routes that do not set them (plain model names use these too).
    package var retries: Int = 0
    package var backoffMs: Int = 250

    package init() {}
}

extension TimeoutConfig {
    /// The limits for one request: `request` (the `timeout_ms` of a chat
    /// frame, a total) beats the route, which beats the provider, which beats
    /// the global `[timeouts]`.
    package func resolved(route: TimeoutOverrides?, provider: TimeoutOverrides?, requestTotalMs: Int?) -> TimeoutConfig {
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
