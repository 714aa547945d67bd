import LLMuxWire

/// Turns the SSE events of an OpenAI-compatible chat-completions stream into
/// `UpstreamEvent`s, tolerating the provider variants listed in the upstream
/// reference §3: no `object` check, empty or missing `choices`, usage on any
/// chunk (or inside `x_groq`), reasoning as `reasoning_content` or
/// `reasoning`, whole tool calls in one fragment, unknown keys and finish reasons.
package struct OpenAIStreamInterpreter: StreamInterpreter {
    package typealias Failure = StreamInterpreterFailure

    package init() {}

    package mutating func interpret(_ event: SSEEvent) throws(Failure) -> [UpstreamEvent] {
        let data = event.data
        if data == "[DONE]" { return [.end] }
        guard let chunk = try? JSONParser.read(data, Chunk.init(reading:)) else {
            throw .invalidJSON(Self.preview(data))
        }
        var events: [UpstreamEvent] = []
        // Some servers name their events; only errors are meaningful then.
        if event.event == "error" {
            events.append(.error(message: data))
            return events
        }
        // A chunk can carry output and an error together (OpenRouter's mid-stream
        // errors, with finish_reason "error"): the output first, then the error.
        let failure = chunk.error.flatMap { $0.isNull ? nil : Self.errorMessage($0) }
        var finish: String?
        for choice in chunk.choices where choice.index == 0 {
            if let delta = choice.delta {
                let text = delta.content.flatMap { $0.isEmpty ? nil : $0 } ?? delta.refusal.flatMap { $0.isEmpty ? nil : $0 }
                // reasoning_details (OpenRouter) only when neither plain field carries the same text.
                let details = delta.reasoningDetails.joined()
                let reasoning = (delta.reasoningContent ?? delta.reasoning ?? (details.isEmpty ? nil : details)).flatMap { $0.isEmpty ? nil : $0 }
                if text != nil || reasoning != nil || !delta.toolCalls.isEmpty {
                    events.append(.delta(text: text, reasoning: reasoning, toolCalls: delta.toolCalls))
                }
            } else if let text = choice.text, !text.isEmpty {
                // A `/completions` chunk (or whole `text_completion`): the text is the choice's own.
                events.append(.delta(text: text, reasoning: nil, toolCalls: []))
            }
            if let reason = choice.finishReason { finish = reason }
        }
        if let failure {
            events.append(.error(message: failure))
            return events
        }
        if let usage = chunk.usage { events.append(.usage(usage)) }
        if let finish { events.append(.finish(reason: finish)) }
        return events
    }

    static func preview(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    static func errorMessage(_ error: JSONValue) -> String {
        switch error {
        case .string(let s): return s
        case .object(let o):
            let message = o["message"]?.stringValue ?? "unspecified error"
            if let type = o["type"]?.stringValue { return "\(message) (\(type))" }
            return message
        default: return error.jsonString
        }
    }

    // MARK: - Chunk shape (every field optional)

    /// One chunk, read field by field: keys this build does not use (`id`,
    /// `model`, `created`, `system_fingerprint`, ...) are skipped unallocated.
    struct Chunk {
        var choices: [Choice] = []
        var usage: Usage?
        var groqUsage: Usage?
        var error: JSONValue?

        init(reading parser: inout JSONParser) throws(JSONSyntaxError) {
            var chunk = Chunk()
            try parser.readObject(allowingNull: false) { parser, key throws(JSONSyntaxError) in
                switch key {
                case "choices":
                    try parser.readArray { parser throws(JSONSyntaxError) in chunk.choices.append(try Choice(reading: &parser)) }
                case "usage":
                    chunk.usage = try Self.usage(reading: &parser)
                case "x_groq":
                    try parser.readObject { parser, key throws(JSONSyntaxError) in
                        if key == "usage" { chunk.groqUsage = try Self.usage(reading: &parser) } else { try parser.skipValue() }
                    }
                case "error":
                    chunk.error = try parser.readValue()
                default:
                    try parser.skipValue()
                }
            }
            self = chunk
            if self.usage == nil { self.usage = self.groqUsage }
        }

        private init() {}

        /// `usage` (or Groq's `x_groq.usage`) normalized; `nil` when it has no token counts.
        static func usage(reading parser: inout JSONParser) throws(JSONSyntaxError) -> Usage? {
            var prompt: Int?
            var completion: Int?
            var cached: Int?
            var reasoning: Int?
            var cacheWrite: Int?
            try parser.readObject { parser, key throws(JSONSyntaxError) in
                switch key {
                case "prompt_tokens": prompt = try parser.readInt()
                case "completion_tokens": completion = try parser.readInt()
                // Anthropic's own name, which proxies in front of Claude pass on.
                case "cache_creation_input_tokens": cacheWrite = try parser.readInt()
                case "prompt_tokens_details":
                    try parser.readObject { parser, key throws(JSONSyntaxError) in
                        switch key {
                        case "cached_tokens": cached = try parser.readInt()
                        // OpenRouter's count of prompt tokens written to the cache.
                        case "cache_write_tokens": cacheWrite = try parser.readInt()
                        default: try parser.skipValue()
                        }
                    }
                case "completion_tokens_details":
                    try parser.readObject { parser, key throws(JSONSyntaxError) in
                        if key == "reasoning_tokens" { reasoning = try parser.readInt() } else { try parser.skipValue() }
                    }
                default: try parser.skipValue()
                }
            }
            guard prompt != nil || completion != nil else { return nil }
            return Usage.fromUpstream(input: prompt, output: completion, cached: cached, reasoning: reasoning, cacheWrite: cacheWrite)
        }
    }

    struct Choice {
        var index = 0
        var delta: Delta?
        /// `choices[].text` of a `/completions` answer.
        var text: String?
        var finishReason: String?

        init(reading parser: inout JSONParser) throws(JSONSyntaxError) {
            var choice = Choice()
            try parser.readObject(allowingNull: false) { parser, key throws(JSONSyntaxError) in
                switch key {
                case "index": choice.index = try parser.readInt() ?? 0
                // `message`: a whole `chat.completion` (a server that ignored `stream: true`)
                // reads as one chunk whose choice carries the whole answer.
                case "delta", "message":
                    if try !parser.readNull() { choice.delta = try Delta(reading: &parser) }
                case "finish_reason": choice.finishReason = try parser.readString()
                case "text": choice.text = try parser.readString()
                default: try parser.skipValue()
                }
            }
            self = choice
        }

        private init() {}
    }

    struct Delta {
        var content: String?
        var refusal: String?
        var reasoning: String?
        var reasoningContent: String?
        /// The text (or summary) of each `reasoning_details` entry.
        var reasoningDetails: [String] = []
        var toolCalls: [ToolCallFragment] = []

        init(reading parser: inout JSONParser) throws(JSONSyntaxError) {
            var delta = Delta()
            try parser.readObject { parser, key throws(JSONSyntaxError) in
                switch key {
                case "content": delta.content = try parser.readString()
                case "refusal": delta.refusal = try parser.readString()
                case "reasoning": delta.reasoning = try parser.readString()
                case "reasoning_content": delta.reasoningContent = try parser.readString()
                case "reasoning_details":
                    try parser.readArray { parser throws(JSONSyntaxError) in
                        var text: String?
                        var summary: String?
                        try parser.readObject(allowingNull: false) { parser, key throws(JSONSyntaxError) in
                            switch key {
                            case "text": text = try parser.readString()
                            case "summary": summary = try parser.readString()
                            default: try parser.skipValue()
                            }
                        }
                        if let piece = text ?? summary { delta.reasoningDetails.append(piece) }
                    }
                case "tool_calls":
                    try parser.readArray { parser throws(JSONSyntaxError) in
                        delta.toolCalls.append(try Self.toolCall(reading: &parser, position: delta.toolCalls.count))
                    }
                default: try parser.skipValue()
                }
            }
            self = delta
        }

        private init() {}

        static func toolCall(reading parser: inout JSONParser, position: Int) throws(JSONSyntaxError) -> ToolCallFragment {
            var call = ToolCallFragment(index: position)
            try parser.readObject(allowingNull: false) { parser, key throws(JSONSyntaxError) in
                switch key {
                case "index": call.index = try parser.readInt() ?? position
                case "id": call.id = try parser.readString()
                case "function":
                    try parser.readObject { parser, key throws(JSONSyntaxError) in
                        switch key {
                        case "name": call.name = try parser.readString()
                        case "arguments": call.arguments = try parser.readString().flatMap { $0.isEmpty ? nil : $0 }
                        default: try parser.skipValue()
                        }
                    }
                default: try parser.skipValue()
                }
            }
            return call
        }
    }
}
