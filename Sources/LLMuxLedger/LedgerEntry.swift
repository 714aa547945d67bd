package import Foundation

/// One finished request, as the ledger stores it.
package struct LedgerEntry: Sendable, Hashable {
    /// One try of one target.
    package struct Attempt: Sendable, Hashable {
        package var target: String
        package var outcome: String
        package var httpStatus: Int?
        package var ms: Int

        package init(target: String, outcome: String, httpStatus: Int?, ms: Int) {
            self.target = target
            self.outcome = outcome
            self.httpStatus = httpStatus
            self.ms = ms
        }
    }

    package var requestID: String
    package var startedAt: Date
    package var endedAt: Date
    /// The `hello` client name (`http:UA` for HTTP requests).
    package var client: String?
    package var peerPID: Int?
    package var peerUID: Int?
    package var route: String?
    package var provider: String
    package var model: String
    package var inputTokens: Int
    package var outputTokens: Int
    package var cachedTokens: Int
    package var reasoningTokens: Int
    /// Prompt tokens written to the provider's cache (part of `inputTokens`).
    package var cacheWriteTokens: Int
    /// What was asked: `chat` or `embeddings`.
    package var kind: String
    /// `nil` when the model has no price.
    package var costUSD: Double?
    package var estimated: Bool
    /// `stop`, `length`, `tool_calls`, `cancelled`, ... or an error code.
    package var outcome: String
    package var ttftMs: Int?
    package var durationMs: Int
    package var attempts: [Attempt]

    package init(
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
        kind: String = "chat",
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
        self.kind = kind
        self.costUSD = costUSD
        self.estimated = estimated
        self.outcome = outcome
        self.ttftMs = ttftMs
        self.durationMs = durationMs
        self.attempts = attempts
    }
}
