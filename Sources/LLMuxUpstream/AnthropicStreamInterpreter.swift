import LLMuxWire

/// Turns Anthropic Messages stream events into `UpstreamEvent`s (upstream
/// reference §4): text deltas as text, thinking as reasoning, each `tool_use`
/// block as the next tool ordinal (0, 1, ...; not the block index) with its
/// `partial_json` pieces as argument fragments and never the initial `{}`,
/// `stop_reason` as an OpenAI finish reason, and usage with cache tokens.
/// A finished `thinking` block with its signature, and a `redacted_thinking`
/// block, become reasoning state (`{"format":"anthropic", ...the block}`) to
/// send back with the turn. `ping` and unknown events are ignored.
package struct AnthropicStreamInterpreter: StreamInterpreter {
    private var toolOrdinals: [Int: Int] = [:]
    private var nextTool = 0
    private var inputTokens = 0
    private var cacheCreation = 0
    private var cacheCreation1h = 0
    private var cacheRead = 0
    private var outputTokens = 0
    /// Thinking blocks still open, by index: their text and signature so far.
    private var thinking: [Int: (text: String, signature: String)] = [:]

    package init() {}

    package mutating func interpret(_ event: SSEEvent) throws(StreamInterpreterFailure) -> [UpstreamEvent] {
        guard let value = try? JSONParser.parse(event.data), let fields = JSONFields(value), let body = try? Event(fields) else {
            throw .invalidJSON(OpenAIStreamInterpreter.preview(event.data))
        }
        switch body.type ?? event.event ?? "" {
        case "message_start":
            if let usage = body.message?.usage { self.absorb(usage) }
            return [.usage(self.usage)]
        case "content_block_start":
            guard let block = body.contentBlock, let index = body.index else { return [] }
            switch block.type {
            case "tool_use":
                let ordinal = self.nextTool
                self.nextTool += 1
                self.toolOrdinals[index] = ordinal
                return [.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: ordinal, id: block.id, name: block.name)])]
            case "text":
                guard let text = block.text, !text.isEmpty else { return [] }
                return [.delta(text: text, reasoning: nil, toolCalls: [])]
            case "thinking":
                self.thinking[index] = (block.thinking ?? "", block.signature ?? "")
                guard let thinking = block.thinking, !thinking.isEmpty else { return [] }
                return [.delta(text: nil, reasoning: thinking, toolCalls: [])]
            case "redacted_thinking":
                guard let data = block.data else { return [] }
                return [.reasoningState(["format": "anthropic", "type": "redacted_thinking", "data": .string(data)])]
            default:
                return []
            }
        case "content_block_delta":
            guard let delta = body.delta else { return [] }
            switch delta.type {
            case "text_delta":
                guard let text = delta.text, !text.isEmpty else { return [] }
                return [.delta(text: text, reasoning: nil, toolCalls: [])]
            case "thinking_delta":
                guard let thinking = delta.thinking, !thinking.isEmpty else { return [] }
                if let index = body.index { self.thinking[index]?.text += thinking }
                return [.delta(text: nil, reasoning: thinking, toolCalls: [])]
            case "signature_delta":
                if let index = body.index, let signature = delta.signature { self.thinking[index]?.signature += signature }
                return []
            case "input_json_delta":
                guard let json = delta.partialJSON, !json.isEmpty, let index = body.index, let ordinal = self.toolOrdinals[index] else { return [] }
                return [.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: ordinal, arguments: json)])]
            default:
                return []
            }
        case "message_delta":
            var events: [UpstreamEvent] = []
            if let usage = body.usage {
                self.absorb(usage)
                events.append(.usage(self.usage))
            }
            if let reason = body.delta?.stopReason { events.append(.finish(reason: Self.finishReason(reason))) }
            return events
        case "content_block_stop":
            // A thinking block is worth sending back only signed: Anthropic refuses it otherwise.
            guard let index = body.index, let block = self.thinking.removeValue(forKey: index), !block.signature.isEmpty else { return [] }
            return [
                .reasoningState(["format": "anthropic", "type": "thinking", "thinking": .string(block.text), "signature": .string(block.signature)])
            ]
        case "message_stop":
            return [.end]
        case "error":
            let message = body.error?.message ?? "unspecified error"
            return [.error(message: body.error?.type.map { "\(message) (\($0))" } ?? message)]
        default:
            // ping, and event types newer than this build.
            return []
        }
    }

    private mutating func absorb(_ usage: UsageBody) {
        if let input = usage.inputTokens { self.inputTokens = input }
        if let creation = usage.cacheCreationInputTokens { self.cacheCreation = creation }
        if let oneHour = usage.cacheCreation1h { self.cacheCreation1h = oneHour }
        // Without the total, the breakdown's sum is the total.
        if usage.cacheCreationInputTokens == nil, usage.cacheCreation5m != nil || usage.cacheCreation1h != nil {
            self.cacheCreation = Usage.clampedUpstreamCount(usage.cacheCreation5m) + Usage.clampedUpstreamCount(usage.cacheCreation1h)
        }
        if let read = usage.cacheReadInputTokens { self.cacheRead = read }
        // Cumulative: the last count is the total.
        if let output = usage.outputTokens { self.outputTokens = output }
    }

    /// Prompt tokens include both kinds of cache tokens; cached ones are the cache reads, cache
    /// writes are counted apart (they bill at 1.25x the input price, 2x for the 1-hour cache).
    private var usage: Usage {
        // Each part clamped before adding: an upstream's huge or negative counts neither overflow nor go below 0.
        let part = Usage.clampedUpstreamCount
        return Usage.fromUpstream(
            input: part(self.inputTokens) + part(self.cacheCreation) + part(self.cacheRead),
            output: self.outputTokens,
            cached: self.cacheRead,
            cacheWrite: self.cacheCreation,
            cacheWrite1h: self.cacheCreation1h
        )
    }

    static func finishReason(_ stopReason: String) -> String {
        switch stopReason {
        case "end_turn", "stop_sequence", "pause_turn": return "stop"
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "tool_use": return "tool_calls"
        case "refusal": return "content_filter"
        default: return stopReason
        }
    }

    // MARK: - Event shape (every field optional but a content block's type, read from the parsed JSON)

    struct Event {
        var type: String?
        var index: Int?
        var message: Message?
        var contentBlock: Block?
        var delta: Delta?
        var usage: UsageBody?
        var error: ErrorBody?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            self.type = try fields.string("type")
            self.index = try fields.int("index")
            self.message = try fields.fields("message").map { m throws(JSONFieldError) in Message(usage: try m.fields("usage").map(UsageBody.init)) }
            self.contentBlock = try fields.fields("content_block").map(Block.init)
            self.delta = try fields.fields("delta").map(Delta.init)
            self.usage = try fields.fields("usage").map(UsageBody.init)
            self.error = try fields.fields("error").map { e throws(JSONFieldError) in ErrorBody(type: try e.string("type"), message: try e.string("message")) }
        }
    }

    struct Message {
        var usage: UsageBody?
    }

    struct Block {
        var type: String
        var id: String?
        var name: String?
        var text: String?
        var thinking: String?
        var signature: String?
        /// A `redacted_thinking` block's encrypted content.
        var data: String?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            guard let type = try fields.string("type") else {
                throw JSONFieldError(key: "content_block.type", expected: "string", got: "nothing")
            }
            self.type = type
            self.id = try fields.string("id")
            self.name = try fields.string("name")
            self.text = try fields.string("text")
            self.thinking = try fields.string("thinking")
            self.signature = try fields.string("signature")
            self.data = try fields.string("data")
        }
    }

    struct Delta {
        var type: String?
        var text: String?
        var thinking: String?
        var partialJSON: String?
        var stopReason: String?
        var signature: String?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            self.type = try fields.string("type")
            self.text = try fields.string("text")
            self.thinking = try fields.string("thinking")
            self.partialJSON = try fields.string("partial_json")
            self.stopReason = try fields.string("stop_reason")
            self.signature = try fields.string("signature")
        }
    }

    struct UsageBody {
        var inputTokens: Int?
        var outputTokens: Int?
        var cacheCreationInputTokens: Int?
        var cacheReadInputTokens: Int?
        /// `cache_creation.ephemeral_5m_input_tokens` and `ephemeral_1h_input_tokens`.
        var cacheCreation5m: Int?
        var cacheCreation1h: Int?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            self.inputTokens = try fields.int("input_tokens")
            self.outputTokens = try fields.int("output_tokens")
            self.cacheCreationInputTokens = try fields.int("cache_creation_input_tokens")
            self.cacheReadInputTokens = try fields.int("cache_read_input_tokens")
            if let breakdown = try fields.fields("cache_creation") {
                self.cacheCreation5m = try breakdown.int("ephemeral_5m_input_tokens")
                self.cacheCreation1h = try breakdown.int("ephemeral_1h_input_tokens")
            }
        }
    }

    struct ErrorBody {
        var type: String?
        var message: String?
    }
}
