/// One try of one target within a request, as listed in the terminal
/// frame's `attempts`.
public struct AttemptRecord: Sendable, Hashable {
    /// `provider/model`.
    public var target: String
    /// `ok`, `cancelled`, `hedge_lost`, `cooldown` or `circuit_open` (skipped
    /// without being contacted), or the error code the attempt failed with.
    public var outcome: String
    public var httpStatus: Int?
    /// How long the attempt ran, in milliseconds (0 for a skipped target).
    public var ms: Int

    public init(target: String, outcome: String, httpStatus: Int? = nil, ms: Int) {
        self.target = target
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.ms = ms
    }

    public static let ok = "ok"
    public static let cancelled = "cancelled"
    public static let hedgeLost = "hedge_lost"
    public static let cooldown = "cooldown"
    public static let circuitOpen = "circuit_open"
}

/// One target's health, as shown by `status` (and `llmux status`).
public struct TargetHealthInfo: Sendable, Hashable {
    /// `provider/model`.
    public var target: String
    /// `ok`, `cooldown` (rate limited), `open` (circuit breaker open) or
    /// `half_open` (the next request probes it).
    public var state: String
    /// Until the cooldown ends or the breaker half-opens, in milliseconds.
    public var retryInMs: Int?
    /// Smoothed time to first token, in milliseconds.
    public var ewmaTTFTMs: Int?
    /// Errors in the last five minutes.
    public var recentErrors: Int
    public var successes: Int
    public var failures: Int

    public init(target: String, state: String, retryInMs: Int?, ewmaTTFTMs: Int?, recentErrors: Int, successes: Int, failures: Int) {
        self.target = target
        self.state = state
        self.retryInMs = retryInMs
        self.ewmaTTFTMs = ewmaTTFTMs
        self.recentErrors = recentErrors
        self.successes = successes
        self.failures = failures
    }
}
