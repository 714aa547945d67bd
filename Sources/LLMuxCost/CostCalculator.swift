package import LLMuxWire

/// Turns token counts into dollars, and estimates the counts when the
/// upstream reported none.
package enum CostCalculator {
    /// Plain prompt tokens at the input price, cached ones at the cached price, tokens
    /// written to the cache at the cache-write price (the 1-hour ones at theirs), completion
    /// tokens (reasoning included) at the output price.
    package static func usd(_ usage: Usage, _ price: ModelPrice) -> Double {
        let input = max(usage.inputTokens, 0)
        let cached = min(max(usage.cachedTokens, 0), input)
        let written = min(max(usage.cacheWriteTokens, 0), input - cached)
        let written1h = min(max(usage.cacheWrite1hTokens, 0), written)
        let plain = input - cached - written
        let micro =
            Double(plain) * price.inputPerMillion + Double(cached) * price.cachedInputPerMillion
            + Double(written - written1h) * price.cacheWritePerMillion + Double(written1h) * price.cacheWrite1hPerMillion
            + Double(usage.outputTokens) * price.outputPerMillion
        return Self.rounded(micro / 1_000_000)
    }

    /// To the nearest billionth of a dollar, so sums stay free of float noise in frames.
    package static func rounded(_ usd: Double) -> Double {
        (usd * 1_000_000_000).rounded() / 1_000_000_000
    }

    package static func cost(_ usage: Usage, _ price: ModelPrice?) -> RequestCost {
        RequestCost(usd: price.map { Self.usd(usage, $0) }, estimated: usage.estimated)
    }

    /// Bytes per token assumed by the estimates: about four bytes of English
    /// text or JSON per token, the usual rule of thumb for BPE tokenizers.
    package static let bytesPerToken = 4

    /// Tokens of `byteCount` bytes of text, rounded up.
    package static func estimatedTokens(bytes byteCount: Int) -> Int {
        byteCount <= 0 ? 0 : (byteCount + Self.bytesPerToken - 1) / Self.bytesPerToken
    }

    /// The prompt's estimated size: its messages (and tools) as JSON text.
    package static func estimatedPromptTokens(_ request: ChatRequest) -> Int {
        switch request.operation {
        case .embeddings(let input): return Self.estimatedTokens(bytes: input.estimatedBytes)
        case .completion(let input): return Self.estimatedTokens(bytes: input.estimatedBytes)
        case .chat: break
        }
        var bytes = JSONValue.array(request.messages).jsonString.utf8.count
        if let tools = request.options["tools"] { bytes += tools.jsonString.utf8.count }
        return Self.estimatedTokens(bytes: bytes)
    }

    /// Usage for a request whose upstream reported none (or was cut first):
    /// the prompt estimate, and `outputBytes` of delivered text, reasoning and tool-call arguments.
    package static func estimatedUsage(_ request: ChatRequest, outputBytes: Int) -> Usage {
        Usage(
            inputTokens: Self.estimatedPromptTokens(request),
            outputTokens: Self.estimatedTokens(bytes: outputBytes),
            estimated: true
        )
    }
}
