import LLMuxWire

extension Usage {
    /// The most tokens one count may claim; anything above is an upstream's garbage.
    static let maxUpstreamTokens = 1_000_000_000_000

    /// One count as an upstream reported it, between 0 and `maxUpstreamTokens` (missing: 0).
    static func clampedUpstreamCount(_ value: Int?) -> Int { min(max(value ?? 0, 0), Self.maxUpstreamTokens) }

    /// Token counts as an upstream reported them, made safe to add and price:
    /// each between 0 and `maxUpstreamTokens`, cached tokens at most the input
    /// and reasoning tokens at most the output (the cost subtracts them).
    /// The fuzzers found negative counts passed through as they came.
    /// Cache writes are at most the input left after the cached tokens, and the 1-hour part at
    /// most the writes.
    static func fromUpstream(
        input: Int?,
        output: Int?,
        cached: Int? = nil,
        reasoning: Int? = nil,
        cacheWrite: Int? = nil,
        cacheWrite1h: Int? = nil
    ) -> Usage {
        let clamp = Self.clampedUpstreamCount
        let inputTokens = clamp(input)
        let outputTokens = clamp(output)
        let cachedTokens = min(clamp(cached), inputTokens)
        let cacheWriteTokens = min(clamp(cacheWrite), inputTokens - cachedTokens)
        return Usage(
            inputTokens: inputTokens,
            outputTokens: outputTokens,
            cachedTokens: cachedTokens,
            reasoningTokens: min(clamp(reasoning), outputTokens),
            cacheWriteTokens: cacheWriteTokens,
            cacheWrite1hTokens: min(clamp(cacheWrite1h), cacheWriteTokens)
        )
    }
}
