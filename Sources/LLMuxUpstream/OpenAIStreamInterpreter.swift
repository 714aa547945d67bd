import LLMuxWire

/// Turns the SSE events of an OpenAI-compatible chat-completions stream into
/// `UpstreamEvent`s, tolerating the provider variants listed in the upstream
/// reference §3: no `object` check, empty or missing `choices`, usage on any
/// chunk (or inside `x_groq`), reasoning as `reasoning_content` or
/// `reasoning`, whole tool calls in one fragment, unknown keys and finish reasons.
public struct OpenAIStreamInterpreter: StreamInterpreter {
    public typealias Failure = StreamInterpreterFailure

    public init() {}

    public mutating func interpret(_ event: SSEEvent) throws(Failure) -> [UpstreamEvent] {
        let data = event.data
        if data == "[DONE]" { return [.end] }
        guard let value = try? JSONParser.parse(data), let fields = JSONFields(value), let chunk = try? Chunk(fields) else {
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

    // MARK: - Chunk shape (every field optional, read from the parsed JSON)

    struct Chunk {
        var choices: [Choice] = []
        var usage: Usage?
        var error: JSONValue?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            for choice in try fields.fieldsArray("choices") ?? [] { self.choices.append(try Choice(choice)) }
            if let usage = try Self.usage(fields.fields("usage")) {
                self.usage = usage
            } else {
                self.usage = try Self.usage(fields.fields("x_groq")?.fields("usage"))
            }
            self.error = fields["error"]
        }

        /// `usage` (or Groq's `x_groq.usage`) normalized; `nil` when it has no token counts.
        static func usage(_ body: JSONFields?) throws(JSONFieldError) -> Usage? {
            guard let body else { return nil }
            let prompt = try body.int("prompt_tokens")
            let completion = try body.int("completion_tokens")
            guard prompt != nil || completion != nil else { return nil }
            return Usage.fromUpstream(
                input: prompt,
                output: completion,
                cached: try body.fields("prompt_tokens_details")?.int("cached_tokens"),
                reasoning: try body.fields("completion_tokens_details")?.int("reasoning_tokens")
            )
        }
    }

    struct Choice {
        var index: Int
        var delta: Delta?
        var finishReason: String?

        init(_ fields: JSONFields) throws(JSONFieldError) {
            self.index = try fields.int("index") ?? 0
            self.delta = try fields.fields("delta").map { fields throws(JSONFieldError) in try Delta(fields) }
            self.finishReason = try fields.string("finish_reason")
        }
    }

    struct Delta {
        var content: String?
        var refusal: String?
        var reasoning: String?
        var reasoningContent: String?
        /// The text (or summary) of each `reasoning_details` entry.
        var reasoningDetails: [String] = []
        var toolCalls: [ToolCallFragment] = []

        init(_ fields: JSONFields) throws(JSONFieldError) {
            self.content = try fields.string("content")
            self.refusal = try fields.string("refusal")
            self.reasoning = try fields.string("reasoning")
            self.reasoningContent = try fields.string("reasoning_content")
            for detail in try fields.fieldsArray("reasoning_details") ?? [] {
                if let text = try detail.string("text") {
                    self.reasoningDetails.append(text)
                } else if let summary = try detail.string("summary") {
                    self.reasoningDetails.append(summary)
                }
            }
            for (position, call) in (try fields.fieldsArray("tool_calls") ?? []).enumerated() {
                let function = try call.fields("function")
                self.toolCalls.append(
                    ToolCallFragment(
                        index: try call.int("index") ?? position,
                        id: try call.string("id"),
                        name: try function?.string("name"),
                        arguments: try function?.string("arguments").flatMap { $0.isEmpty ? nil : $0 }
                    )
                )
            }
        }
    }
}
