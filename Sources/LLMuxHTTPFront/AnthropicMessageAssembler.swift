import LLMuxWire
import NIOCore

/// Collects the engine's frames into one Anthropic `Message` for a request
/// without `stream`: its content blocks in the order they came (thinking,
/// text, tool calls with their input parsed), the stop reason (never null)
/// and the usage. An answer that passed through from an Anthropic upstream is
/// the upstream's own message instead (`AnthropicNativeMessage`).
struct AnthropicMessageAssembler {
    private enum Block {
        case text(String)
        case thinking(String)
        /// A tool call, by its ordinal: id, name and the argument text.
        case toolUse(index: Int, id: String?, name: String?, arguments: String)
    }

    /// The upstream model, from the `start` frame.
    private(set) var model = ""
    private var blocks: [Block] = []
    private var native = AnthropicNativeMessage()

    mutating func add(_ frame: ServerFrame) {
        switch frame {
        case .start(_, let model, _, _):
            self.model = model
        case .delta(let delta) where !delta.native.isEmpty:
            for event in delta.native { self.native.add(event) }
        case .delta(let delta):
            if let reasoning = delta.reasoning, !reasoning.isEmpty {
                if case .thinking(let text)? = self.blocks.last {
                    self.blocks[self.blocks.count - 1] = .thinking(text + reasoning)
                } else {
                    self.blocks.append(.thinking(reasoning))
                }
            }
            if let text = delta.text, !text.isEmpty {
                if case .text(let sofar)? = self.blocks.last {
                    self.blocks[self.blocks.count - 1] = .text(sofar + text)
                } else {
                    self.blocks.append(.text(text))
                }
            }
            for call in delta.toolCalls {
                if case .toolUse(call.index, let id, let name, let arguments)? = self.blocks.last {
                    self.blocks[self.blocks.count - 1] = .toolUse(
                        index: call.index, id: id ?? call.id, name: name ?? call.name, arguments: arguments + (call.arguments ?? ""))
                } else {
                    self.blocks.append(.toolUse(index: call.index, id: call.id, name: call.name, arguments: call.arguments ?? ""))
                }
            }
        default:
            break
        }
    }

    /// `{"id","type":"message","role":"assistant","model"` (left open for the rest of the message).
    static func messageHead(id: String, model: String, into w: inout JSONWriter) {
        w.beginObject()
        w.field("id", id)
        w.field("type", "message")
        w.field("role", "assistant")
        w.field("model", model)
    }

    func body(for done: DoneFrame, messageID: String) -> ByteBuffer {
        if !self.native.isEmpty { return self.native.body() }
        var w = JSONWriter(buffer: ByteBuffer())
        Self.messageHead(id: messageID, model: self.model.isEmpty ? done.model : self.model, into: &w)
        w.key("content")
        w.beginArray()
        for block in self.blocks {
            w.beginObject()
            switch block {
            case .text(let text):
                w.field("type", "text")
                w.field("text", text)
            case .thinking(let thinking):
                w.field("type", "thinking")
                w.field("thinking", thinking)
                w.field("signature", "")
            case .toolUse(let index, let id, let name, let arguments):
                w.field("type", "tool_use")
                w.field("id", id ?? "toolu_llmux_\(index)")
                w.field("name", name ?? "")
                // The arguments as the object they spell; `{}` when the model wrote no valid JSON object.
                let input = (try? JSONValue.parse(arguments)).flatMap { $0.objectValue == nil ? nil : $0 } ?? .object([:])
                w.field("input", input)
            }
            w.endObject()
        }
        w.endArray()
        w.field("stop_reason", AnthropicEventEncoder.stopReason(done.finishReason))
        w.key("stop_sequence")
        w.null()
        w.key("usage")
        AnthropicEventEncoder.usage(done.usage ?? Usage(inputTokens: 0, outputTokens: 0), into: &w)
        w.endObject()
        return w.buffer
    }
}
