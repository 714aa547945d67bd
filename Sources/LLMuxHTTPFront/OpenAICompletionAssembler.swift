import LLMuxWire
import NIOCore

/// Builds the non-streamed `chat.completion` object from a request's frames.
struct OpenAICompletionAssembler {
    private var text = ""
    private var reasoning = ""
    private var sawText = false
    private var toolCalls: [Int: (id: String?, name: String?, arguments: String)] = [:]
    private(set) var model = ""

    mutating func add(_ frame: ServerFrame) {
        switch frame {
        case .start(_, let model, _, _):
            self.model = model
        case .delta(let delta):
            if let text = delta.text {
                self.text += text
                self.sawText = true
            }
            if let reasoning = delta.reasoning { self.reasoning += reasoning }
            for call in delta.toolCalls {
                var entry = self.toolCalls[call.index] ?? (nil, nil, "")
                if let id = call.id { entry.id = id }
                if let name = call.name { entry.name = name }
                entry.arguments += call.arguments ?? ""
                self.toolCalls[call.index] = entry
            }
        default:
            break
        }
    }

    func body(for done: DoneFrame, completionID: String, created: Int) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("id", completionID)
        w.field("object", "chat.completion")
        w.field("created", created)
        w.field("model", self.model.isEmpty ? done.model : self.model)
        w.key("choices")
        w.beginArray()
        w.beginObject()
        w.field("index", 0)
        w.key("message")
        w.beginObject()
        w.field("role", "assistant")
        w.key("content")
        if self.sawText || self.toolCalls.isEmpty { w.string(self.text) } else { w.null() }
        if !self.reasoning.isEmpty { w.field("reasoning_content", self.reasoning) }
        if !self.toolCalls.isEmpty {
            w.key("tool_calls")
            w.beginArray()
            for index in self.toolCalls.keys.sorted() {
                let call = self.toolCalls[index]!
                w.beginObject()
                w.field("id", call.id ?? "call_\(index)")
                w.field("type", "function")
                w.key("function")
                w.beginObject()
                w.field("name", call.name ?? "")
                w.field("arguments", call.arguments)
                w.endObject()
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        w.field("finish_reason", done.finishReason)
        w.endObject()
        w.endArray()
        w.key("usage")
        if let usage = done.usage { OpenAIChunkEncoder.usage(usage, into: &w) } else { w.null() }
        w.endObject()
        return w.buffer
    }
}
