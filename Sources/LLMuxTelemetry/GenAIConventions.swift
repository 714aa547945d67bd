package import LLMuxWire
package import Tracing

/// The OpenTelemetry GenAI semantic conventions' names that llmuxd's spans use, and llmux's own
/// (`llmux.*`) beside them.
package enum GenAIConventions {
    package static let operationName = "gen_ai.operation.name"
    package static let providerName = "gen_ai.provider.name"
    package static let requestModel = "gen_ai.request.model"
    package static let responseModel = "gen_ai.response.model"
    package static let requestMaxTokens = "gen_ai.request.max_tokens"
    package static let requestTemperature = "gen_ai.request.temperature"
    package static let requestTopP = "gen_ai.request.top_p"
    package static let inputTokens = "gen_ai.usage.input_tokens"
    package static let outputTokens = "gen_ai.usage.output_tokens"
    package static let cacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens"
    package static let cacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens"
    package static let finishReasons = "gen_ai.response.finish_reasons"
    package static let inputMessages = "gen_ai.input.messages"
    package static let outputMessages = "gen_ai.output.messages"
    package static let errorType = "error.type"
    package static let httpStatusCode = "http.response.status_code"

    package static let requestID = "llmux.request.id"
    package static let route = "llmux.route"
    package static let client = "llmux.client"
    package static let outcome = "llmux.outcome"
    package static let costUSD = "llmux.cost.usd"
    package static let costEstimated = "llmux.cost.estimated"
    package static let usageEstimated = "llmux.usage.estimated"
    package static let reasoningTokens = "llmux.usage.reasoning_tokens"
    package static let attemptCount = "llmux.attempts"
    package static let attemptIndex = "llmux.attempt.index"
    package static let attemptOutcome = "llmux.attempt.outcome"
    package static let timeToFirstTokenMs = "llmux.ttft_ms"
    package static let downgradedFrom = "llmux.downgraded_from"
    package static let skippedTargetEvent = "llmux.target_skipped"
    package static let target = "llmux.target"

    /// The token counts of `usage`, in the conventions' names, on a span's attributes.
    package static func setUsage(_ usage: Usage, on attributes: inout SpanAttributes) {
        attributes[Self.inputTokens] = Int64(usage.inputTokens)
        attributes[Self.outputTokens] = Int64(usage.outputTokens)
        attributes[Self.cacheReadInputTokens] = Int64(usage.cachedTokens)
        attributes[Self.cacheCreationInputTokens] = Int64(usage.cacheWriteTokens)
    }

    /// `gen_ai.operation.name` for a kind of request.
    package static func operation(_ capability: ChatRequest.Capability) -> String {
        switch capability {
        case .chat: return "chat"
        case .embeddings: return "embeddings"
        case .completion: return "text_completion"
        }
    }
}
