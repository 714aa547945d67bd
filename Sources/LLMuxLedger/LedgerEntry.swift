public import Foundation

/// One finished request, as the ledger stores it.
public struct LedgerEntry: Sendable, Hashable {
    /// One try of one target.
    public struct Attempt: Sendable, Hashable {
        public var target: String
        public var outcome: String
        public var httpStatus: Int?
        public var ms: Int

        public init(target: String, outcome: String, httpStatus: Int?, ms: Int) {
            self.target = target
            self.outcome = outcome
            self.httpStatus = httpStatus
            self.ms = ms
        }
    }

    public var requestID: String
    public var startedAt: Date
    public var endedAt: Date
    /// The `hello` client name (`http:UA` for HTTP requests).
    public var client: String?
    public var peerPID: Int?
    public var peerUID: Int?
    public var route: String?
    public var provider: String
    public var model: String
    public var inputTokens: Int
    public var outputTokens: Int
    public var cachedTokens: Int
    public var reasoningTokens: Int
    /// Prompt tokens written to the provider's cache (part of `inputTokens`).
    public var cacheWriteTokens: Int
    /// `nil` when the model has no price.
    public var costUSD: Double?
    public var estimated: Bool
    /// `stop`, `length`, `tool_calls`, `cancelled`, ... or an error code.
    public var outcome: String
    public var ttftMs: Int?
    public var durationMs: Int
    public var attempts: [Attempt]

    public init(
        requestID: String,
        startedAt: Date,
        endedAt: Date,
        client: String?,
        peerPID: Int?,
        peerUID: Int?,
        route: String?,
        provider: String,
        model: String,
        inputTokens: Int,
        outputTokens: Int,
        cachedTokens: Int,
        reasoningTokens: Int,
        cacheWriteTokens: Int = 0,
        costUSD: Double?,
        estimated: Bool,
        outcome: String,
        ttftMs: Int?,
        durationMs: Int,
        attempts: [Attempt]
    ) {
        self.requestID = requestID
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.client = client
        self.peerPID = peerPID
        self.peerUID = peerUID
        self.route = route
        self.provider = provider
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
        self.estimated = estimated
        self.outcome = outcome
        self.ttftMs = ttftMs
        self.durationMs = durationMs
        self.attempts = attempts
    }
}
