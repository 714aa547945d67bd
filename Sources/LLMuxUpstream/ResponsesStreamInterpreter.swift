import LLMuxWire

/// Turns OpenAI Responses stream events into `UpstreamEvent`s: output text
/// (and refusals) as text; reasoning summaries and reasoning text as
/// reasoning (a new summary part after the first starts with a blank line);
/// each `function_call` item as the next tool ordinal, its `call_id` as the
/// call's id and its argument deltas as fragments; `response.completed` as
/// the usage and `stop` (`tool_calls` when a call was made),
/// `response.incomplete` as `length` or `content_filter`; `response.failed`
/// and `error` events as a stream error. Reasoning items of the final response
/// that carry `encrypted_content` become reasoning state
/// (`{"format":"openai-responses","item":ITEM}`) to send back with the turn.
/// Other events are ignored.
package struct ResponsesStreamInterpreter: StreamInterpreter {
    /// Tool ordinals by the function_call item's id.
    private var toolOrdinals: [String: Int] = [:]
    private var nextTool = 0

    package init() {}

    package mutating func interpret(_ event: SSEEvent) throws(StreamInterpreterFailure) -> [UpstreamEvent] {
        // Not a Responses event, but some compatible servers end with it (and a whole answer is read so).
        if event.data == "[DONE]" { return [.end] }
        guard let value = try? JSONParser.parse(event.data), case .object = value else {
            throw .invalidJSON(OpenAIStreamInterpreter.preview(event.data))
        }
        if value["type"] == nil, value["object"]?.stringValue == "response" { return self.wholeResponse(value) }
        switch value["type"]?.stringValue ?? event.event ?? "" {
        case "response.output_text.delta", "response.refusal.delta":
            guard case .string(let text)? = value["delta"], !text.isEmpty else { return [] }
            return [.delta(text: text, reasoning: nil, toolCalls: [])]
        case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
            guard case .string(let text)? = value["delta"], !text.isEmpty else { return [] }
            return [.delta(text: nil, reasoning: text, toolCalls: [])]
        case "response.reasoning_summary_part.added":
            // Summary parts after the first are separate paragraphs.
            guard let index = value["summary_index"]?.intValue, index > 0 else { return [] }
            return [.delta(text: nil, reasoning: "\n\n", toolCalls: [])]
        case "response.output_item.added":
            guard let item = value["item"], item["type"]?.stringValue == "function_call" else { return [] }
            let ordinal = self.nextTool
            self.nextTool += 1
            if let id = item["id"]?.stringValue { self.toolOrdinals[id] = ordinal }
            let arguments = item["arguments"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            return [
                .delta(
                    text: nil, reasoning: nil,
                    toolCalls: [ToolCallFragment(index: ordinal, id: item["call_id"]?.stringValue, name: item["name"]?.stringValue, arguments: arguments)])
            ]
        case "response.function_call_arguments.delta":
            guard case .string(let delta)? = value["delta"], !delta.isEmpty, let id = value["item_id"]?.stringValue, let ordinal = self.toolOrdinals[id]
            else { return [] }
            return [.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: ordinal, arguments: delta)])]
        case "response.completed":
            return self.ended(status: "completed", value["response"])
        case "response.incomplete":
            return self.ended(status: "incomplete", value["response"])
        case "response.failed":
            return self.ended(status: "failed", value["response"])
        case "error":
            let message = value["message"]?.stringValue ?? value["error"]?["message"]?.stringValue ?? "unspecified error"
            return [.error(message: value["code"]?.stringValue.map { "\(message) (\($0))" } ?? message)]
        default:
            return []
        }
    }

    /// A whole response object (from a server that ignored `stream`): its output items in order
    /// as the deltas a stream would have given, then what its status means, as the stream's
    /// terminal event would.
    private mutating func wholeResponse(_ response: JSONValue) -> [UpstreamEvent] {
        var events: [UpstreamEvent] = []
        for item in response["output"]?.arrayValue ?? [] {
            switch item["type"]?.stringValue {
            case "reasoning":
                let summary = (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n")
                if !summary.isEmpty { events.append(.delta(text: nil, reasoning: summary, toolCalls: [])) }
            case "message":
                let text = (item["content"]?.arrayValue ?? []).compactMap { part -> String? in
                    part["type"]?.stringValue == "refusal" ? part["refusal"]?.stringValue : part["text"]?.stringValue
                }.joined()
                if !text.isEmpty { events.append(.delta(text: text, reasoning: nil, toolCalls: [])) }
            case "function_call":
                let ordinal = self.nextTool
                self.nextTool += 1
                let arguments = item["arguments"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                let call = ToolCallFragment(index: ordinal, id: item["call_id"]?.stringValue, name: item["name"]?.stringValue, arguments: arguments)
                events.append(.delta(text: nil, reasoning: nil, toolCalls: [call]))
            default:
                continue
            }
        }
        return events + self.ended(status: response["status"]?.stringValue ?? "completed", response)
    }

    /// What a finished response means, by its status (as the terminal event or the whole
    /// object says): `completed` is its reasoning state, usage and `stop` (`tool_calls` when a
    /// call was made); `incomplete` the same with `length` or `content_filter`; `failed` an error.
    private func ended(status: String, _ response: JSONValue?) -> [UpstreamEvent] {
        switch status {
        case "failed":
            let error = response?["error"]
            let message = error?["message"]?.stringValue ?? "the response failed"
            return [.error(message: error?["code"]?.stringValue.map { "\(message) (\($0))" } ?? message)]
        case "incomplete":
            let reason = response?["incomplete_details"]?["reason"]?.stringValue
            return Self.reasoningState(response) + self.usage(response?["usage"])
                + [.finish(reason: reason == "content_filter" ? "content_filter" : "length")]
        default:
            return Self.reasoningState(response) + self.usage(response?["usage"]) + [.finish(reason: self.nextTool > 0 ? "tool_calls" : "stop")]
        }
    }

    /// The final response's reasoning items that can be sent back (they carry `encrypted_content`).
    private static func reasoningState(_ response: JSONValue?) -> [UpstreamEvent] {
        (response?["output"]?.arrayValue ?? []).compactMap { item in
            guard item["type"]?.stringValue == "reasoning", item["encrypted_content"]?.stringValue != nil else { return nil }
            return .reasoningState(["format": "openai-responses", "item": item])
        }
    }

    /// Input tokens include the cached ones; output tokens the reasoning ones.
    private func usage(_ usage: JSONValue?) -> [UpstreamEvent] {
        guard let usage, case .object = usage else { return [] }
        return [
            .usage(
                Usage.fromUpstream(
                    input: usage["input_tokens"]?.intValue.map(Int.init),
                    output: usage["output_tokens"]?.intValue.map(Int.init),
                    cached: usage["input_tokens_details"]?["cached_tokens"]?.intValue.map(Int.init),
                    reasoning: usage["output_tokens_details"]?["reasoning_tokens"]?.intValue.map(Int.init)
                ))
        ]
    }
}
