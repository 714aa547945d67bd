import LLMuxWire
import NIOCore

/// Writes the engine's frames as OpenAI Responses server-sent events, in the
/// order the openai SDK's stream accumulator and Codex rely on:
/// `response.created` and `response.in_progress` first, then one output item
/// at a time (`output_item.added` before its parts and deltas, `.done` events
/// and `output_item.done` with the whole item when the next one starts), and
/// one terminal event: `response.completed` with the usage,
/// `response.incomplete` with `incomplete_details` when the answer was cut
/// (`max_output_tokens`, `content_filter`), or `response.failed` when the
/// upstream failed after output began. Every event carries a rising
/// `sequence_number`.
///
/// Reasoning becomes a `reasoning` item with one summary part (no encrypted
/// content: there is none to give), text a `message` item, each tool call a
/// `function_call` item whose `call_id` is the upstream's call id.
///
/// A request without `stream` runs the same encoder into a scratch buffer and
/// answers with `response(...)`, the final response object.
///
/// An answer passing through from an `openai-responses` upstream (deltas that
/// carry its own events) is written as those events, unchanged (encrypted
/// reasoning, `include`d fields, items llmux does not know); the final
/// response object is the upstream's. A failure after output began is
/// `response.failed`, numbered after the upstream's events.
struct ResponsesEventEncoder: StreamEncoder {
    enum Item {
        case reasoning(id: String, text: String)
        case message(id: String, text: String)
        /// By the tool call's ordinal in the answer.
        case functionCall(index: Int, id: String, callID: String, name: String, arguments: String)

        var id: String {
            switch self {
            case .reasoning(let id, _), .message(let id, _), .functionCall(_, let id, _, _, _): return id
            }
        }
    }

    let responseID: String
    let createdAt: Int
    /// The upstream model, from the `start` frame.
    private(set) var model: String
    private(set) var items: [Item] = []
    /// The last item is still open (its `.done` events are not written yet).
    private var open = false
    private var started = false
    private var sequence = 0
    /// The upstream's terminal event passed through, and the response object it carried.
    private var passedTerminal = false
    private var upstreamResponse: JSONValue?

    init(responseID: String, createdAt: Int, model: String) {
        self.responseID = responseID
        self.createdAt = createdAt
        self.model = model
    }

    mutating func append(_ frame: ServerFrame, to buffer: inout ByteBuffer) -> Bool {
        switch frame {
        case .start(_, let model, _, _):
            self.model = model
            return false
        case .delta(let delta) where !delta.native.isEmpty:
            for event in delta.native { self.pass(event, into: &buffer) }
            return false
        case .delta(let delta):
            self.startResponse(into: &buffer)
            if let reasoning = delta.reasoning, !reasoning.isEmpty { self.reasoning(reasoning, into: &buffer) }
            if let text = delta.text, !text.isEmpty { self.text(text, into: &buffer) }
            for call in delta.toolCalls { self.toolCall(call, into: &buffer) }
            return false
        case .done where self.passedTerminal:
            return true
        case .done(let done):
            self.startResponse(into: &buffer)
            self.closeItem(into: &buffer)
            let incomplete = Self.incompleteReason(done.finishReason)
            let usage = done.usage
            let name = incomplete == nil ? "response.completed" : "response.incomplete"
            self.event(name, into: &buffer) { w, encoder in
                w.key("response")
                encoder.writeResponse(status: incomplete == nil ? "completed" : "incomplete", usage: usage, incompleteReason: incomplete, error: nil, into: &w)
            }
            return true
        case .error(_, let error):
            self.startResponse(into: &buffer)
            self.closeItem(into: &buffer)
            self.event("response.failed", into: &buffer) { w, encoder in
                w.key("response")
                encoder.writeResponse(status: "failed", usage: nil, incompleteReason: nil, error: error, into: &w)
            }
            return true
        default:
            return false
        }
    }

    /// One of the upstream's events, as it came; it counts toward the sequence numbers.
    private mutating func pass(_ native: NativeEvent, into buffer: inout ByteBuffer) {
        self.started = true
        self.sequence += 1
        switch native.event {
        case "response.completed", "response.incomplete", "response.failed":
            self.passedTerminal = true
            self.upstreamResponse = (try? JSONValue.parse(native.data))?["response"]
        default:
            break
        }
        native.write(into: &buffer)
    }

    /// The final response object of a request without `stream` (the upstream's own, when it passed through).
    func response(for done: DoneFrame) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        if let upstream = self.upstreamResponse {
            w.value(upstream)
            return w.buffer
        }
        let incomplete = Self.incompleteReason(done.finishReason)
        self.writeResponse(status: incomplete == nil ? "completed" : "incomplete", usage: done.usage, incompleteReason: incomplete, error: nil, into: &w)
        return w.buffer
    }

    // MARK: Items

    private mutating func reasoning(_ text: String, into buffer: inout ByteBuffer) {
        if self.open, case .reasoning(let id, let sofar)? = self.items.last {
            self.items[self.items.count - 1] = .reasoning(id: id, text: sofar + text)
        } else {
            self.addItem(.reasoning(id: "rs_" + OpenAIHandlers.randomHex(12), text: ""), into: &buffer)
            let (id, index) = (self.items.last!.id, self.items.count - 1)
            self.event("response.reasoning_summary_part.added", into: &buffer) { w, _ in
                Self.summaryFields(itemID: id, outputIndex: index, into: &w)
                w.key("part")
                Self.summaryPart("", into: &w)
            }
            self.items[index] = .reasoning(id: id, text: text)
        }
        let (id, index) = (self.items.last!.id, self.items.count - 1)
        self.event("response.reasoning_summary_text.delta", into: &buffer) { w, _ in
            Self.summaryFields(itemID: id, outputIndex: index, into: &w)
            w.field("delta", text)
        }
    }

    private mutating func text(_ text: String, into buffer: inout ByteBuffer) {
        if self.open, case .message(let id, let sofar)? = self.items.last {
            self.items[self.items.count - 1] = .message(id: id, text: sofar + text)
        } else {
            self.addItem(.message(id: "msg_" + OpenAIHandlers.randomHex(12), text: ""), into: &buffer)
            let (id, index) = (self.items.last!.id, self.items.count - 1)
            self.event("response.content_part.added", into: &buffer) { w, _ in
                Self.partFields(itemID: id, outputIndex: index, into: &w)
                w.key("part")
                Self.outputText("", into: &w)
            }
            self.items[index] = .message(id: id, text: text)
        }
        let (id, index) = (self.items.last!.id, self.items.count - 1)
        self.event("response.output_text.delta", into: &buffer) { w, _ in
            Self.partFields(itemID: id, outputIndex: index, into: &w)
            w.field("delta", text)
            w.key("logprobs")
            w.beginArray()
            w.endArray()
        }
    }

    private mutating func toolCall(_ call: ToolCallFragment, into buffer: inout ByteBuffer) {
        let arguments = call.arguments ?? ""
        if self.open, case .functionCall(call.index, let id, let callID, let name, let sofar)? = self.items.last {
            self.items[self.items.count - 1] = .functionCall(index: call.index, id: id, callID: callID, name: name, arguments: sofar + arguments)
        } else {
            let item = Item.functionCall(
                index: call.index, id: "fc_" + OpenAIHandlers.randomHex(12), callID: call.id ?? "call_\(call.index)", name: call.name ?? "", arguments: "")
            self.addItem(item, into: &buffer)
            if case .functionCall(let index, let id, let callID, let name, _) = item {
                self.items[self.items.count - 1] = .functionCall(index: index, id: id, callID: callID, name: name, arguments: arguments)
            }
        }
        guard !arguments.isEmpty else { return }
        let (id, index) = (self.items.last!.id, self.items.count - 1)
        self.event("response.function_call_arguments.delta", into: &buffer) { w, _ in
            w.field("item_id", id)
            w.field("output_index", index)
            w.field("delta", arguments)
        }
    }

    /// Closes the open item and writes `output_item.added` for `item` (with its content still empty).
    private mutating func addItem(_ item: Item, into buffer: inout ByteBuffer) {
        self.closeItem(into: &buffer)
        self.items.append(item)
        self.open = true
        let index = self.items.count - 1
        self.event("response.output_item.added", into: &buffer) { w, _ in
            w.field("output_index", index)
            w.key("item")
            Self.write(item, status: "in_progress", into: &w)
        }
    }

    /// The `.done` events of the open item, then `output_item.done` with all of it.
    private mutating func closeItem(into buffer: inout ByteBuffer) {
        guard self.open, let item = self.items.last else { return }
        self.open = false
        let index = self.items.count - 1
        switch item {
        case .reasoning(let id, let text):
            self.event("response.reasoning_summary_text.done", into: &buffer) { w, _ in
                Self.summaryFields(itemID: id, outputIndex: index, into: &w)
                w.field("text", text)
            }
            self.event("response.reasoning_summary_part.done", into: &buffer) { w, _ in
                Self.summaryFields(itemID: id, outputIndex: index, into: &w)
                w.key("part")
                Self.summaryPart(text, into: &w)
            }
        case .message(let id, let text):
            self.event("response.output_text.done", into: &buffer) { w, _ in
                Self.partFields(itemID: id, outputIndex: index, into: &w)
                w.field("text", text)
            }
            self.event("response.content_part.done", into: &buffer) { w, _ in
                Self.partFields(itemID: id, outputIndex: index, into: &w)
                w.key("part")
                Self.outputText(text, into: &w)
            }
        case .functionCall(_, let id, _, let name, let arguments):
            self.event("response.function_call_arguments.done", into: &buffer) { w, _ in
                w.field("item_id", id)
                w.field("output_index", index)
                w.field("name", name)
                w.field("arguments", arguments)
            }
        }
        self.event("response.output_item.done", into: &buffer) { w, _ in
            w.field("output_index", index)
            w.key("item")
            Self.write(item, status: "completed", into: &w)
        }
    }

    // MARK: Writing

    private mutating func startResponse(into buffer: inout ByteBuffer) {
        guard !self.started else { return }
        self.started = true
        for name in ["response.created", "response.in_progress"] {
            self.event(name, into: &buffer) { w, encoder in
                w.key("response")
                encoder.writeResponse(status: "in_progress", usage: nil, incompleteReason: nil, error: nil, into: &w)
            }
        }
    }

    /// `event: NAME` and `data: {"type":NAME,"sequence_number":N,...}`.
    private mutating func event(_ name: String, into buffer: inout ByteBuffer, _ body: (inout JSONWriter, Self) -> Void) {
        buffer.writeString("event: \(name)\ndata: ")
        var w = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        w.beginObject()
        w.field("type", name)
        w.field("sequence_number", self.sequence)
        body(&w, self)
        w.endObject()
        buffer = w.buffer
        buffer.writeString("\n\n")
        self.sequence += 1
    }

    private func writeResponse(status: String, usage: Usage?, incompleteReason: String?, error: WireError?, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", self.responseID)
        w.field("object", "response")
        w.field("created_at", self.createdAt)
        w.field("status", status)
        w.field("model", self.model)
        w.key("output")
        w.beginArray()
        // The items so far; an open one (only while in progress) is left out.
        for item in self.items.prefix(self.open ? self.items.count - 1 : self.items.count) { Self.write(item, status: "completed", into: &w) }
        w.endArray()
        w.key("error")
        if let error {
            w.beginObject()
            w.field("code", error.code == .rateLimited || error.httpStatus == 429 ? "rate_limit_exceeded" : "server_error")
            w.field("message", error.message)
            w.endObject()
        } else {
            w.null()
        }
        w.key("incomplete_details")
        if let incompleteReason {
            w.beginObject()
            w.field("reason", incompleteReason)
            w.endObject()
        } else {
            w.null()
        }
        w.key("usage")
        if let usage {
            w.beginObject()
            w.field("input_tokens", usage.inputTokens)
            w.key("input_tokens_details")
            w.beginObject()
            w.field("cached_tokens", usage.cachedTokens)
            w.endObject()
            w.field("output_tokens", usage.outputTokens)
            w.key("output_tokens_details")
            w.beginObject()
            w.field("reasoning_tokens", usage.reasoningTokens)
            w.endObject()
            w.field("total_tokens", usage.inputTokens + usage.outputTokens)
            w.endObject()
        } else {
            w.null()
        }
        w.field("parallel_tool_calls", true)
        w.field("tool_choice", "auto")
        w.key("tools")
        w.beginArray()
        w.endArray()
        w.field("store", false)
        w.endObject()
    }

    private static func write(_ item: Item, status: String, into w: inout JSONWriter) {
        w.beginObject()
        switch item {
        case .reasoning(let id, let text):
            w.field("id", id)
            w.field("type", "reasoning")
            w.key("summary")
            w.beginArray()
            if status == "completed" { Self.summaryPart(text, into: &w) }
            w.endArray()
        case .message(let id, let text):
            w.field("id", id)
            w.field("type", "message")
            w.field("status", status)
            w.field("role", "assistant")
            w.key("content")
            w.beginArray()
            if status == "completed" { Self.outputText(text, into: &w) }
            w.endArray()
        case .functionCall(_, let id, let callID, let name, let arguments):
            w.field("id", id)
            w.field("type", "function_call")
            w.field("status", status)
            w.field("call_id", callID)
            w.field("name", name)
            w.field("arguments", status == "completed" ? arguments : "")
        }
        w.endObject()
    }

    private static func partFields(itemID: String, outputIndex: Int, into w: inout JSONWriter) {
        w.field("item_id", itemID)
        w.field("output_index", outputIndex)
        w.field("content_index", 0)
    }

    private static func summaryFields(itemID: String, outputIndex: Int, into w: inout JSONWriter) {
        w.field("item_id", itemID)
        w.field("output_index", outputIndex)
        w.field("summary_index", 0)
    }

    private static func outputText(_ text: String, into w: inout JSONWriter) {
        w.beginObject()
        w.field("type", "output_text")
        w.field("text", text)
        w.key("annotations")
        w.beginArray()
        w.endArray()
        w.endObject()
    }

    private static func summaryPart(_ text: String, into w: inout JSONWriter) {
        w.beginObject()
        w.field("type", "summary_text")
        w.field("text", text)
        w.endObject()
    }

    /// Why an answer was cut, in Responses' terms; `nil` for a complete one.
    static func incompleteReason(_ finishReason: String) -> String? {
        switch finishReason {
        case "length": return "max_output_tokens"
        case "content_filter": return "content_filter"
        default: return nil
        }
    }
}
