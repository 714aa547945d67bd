public import LLMuxWire

extension Usage {
    /// The most tokens one count may claim; anything above is an upstream's garbage.
    static let maxUpstreamTokens = 1_000_000_000_000

    /// One count as an upstream reported it, between 0 and `maxUpstreamTokens` (missing: 0).
    static func clampedUpstreamCount(_ value: Int?) -> Int { min(max(value ?? 0, 0), Self.maxUpstreamTokens) }

    /// Token counts as an upstream reported them, made safe to add and price:
    /// each between 0 and `maxUpstreamTokens`, cached tokens at most the input
    /// and reasoning tokens at most the output (the cost subtracts them).
    /// The fuzzers found negative counts passed through as they came.
    static func fromUpstream(input: Int?, output: Int?, cached: Int? = nil, reasoning: Int? = nil) -> Usage {
        let clamp = Self.clampedUpstreamCount
        let inputTokens = clamp(input)
        let outputTokens = clamp(output)
        return Usage(
            inputTokens: inputTokens,
            outputTokens: outputTokens,
            cachedTokens: min(clamp(cached), inputTokens),
            reasoningTokens: min(clamp(reasoning), outputTokens)
        )
    }
}
