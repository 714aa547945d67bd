import LLMuxWire
import NIOCore

/// Writes the engine's frames as OpenAI `chat.completion.chunk` server-sent
/// events: one `data:` event per delta, a finish chunk, the usage chunk only
/// when the client asked for `include_usage`, then `data: [DONE]`. With
/// `textCompletion`, the legacy `/v1/completions` shape instead: `text_completion`
/// chunks whose choice carries `text` (no `delta`, no role).
struct OpenAIChunkEncoder: StreamEncoder {
    let completionID: String
    let created: Int
    let includeUsage: Bool
    var textCompletion = false
    /// The upstream model, from the `start` frame.
    var model: String
    private var sentRole = false

    init(completionID: String, created: Int, model: String, includeUsage: Bool) {
        self.completionID = completionID
        self.created = created
        self.model = model
        self.includeUsage = includeUsage
    }

    /// Appends the events for `frame` to `buffer`. Returns `true` when the frame ended the stream.
    mutating func append(_ frame: ServerFrame, to buffer: inout ByteBuffer) -> Bool {
        switch frame {
        case .start(_, let model, _, _):
            self.model = model
            return false
        case .delta(let delta) where self.textCompletion:
            self.choiceChunk(into: &buffer, finishReason: nil) { w in w.field("text", delta.text ?? "") }
            return false
        case .delta(let delta):
            self.choiceChunk(into: &buffer, finishReason: nil) { w in
                if let text = delta.text { w.field("content", text) }
                if let reasoning = delta.reasoning { w.field("reasoning_content", reasoning) }
                if !delta.toolCalls.isEmpty {
                    w.key("tool_calls")
                    w.beginArray()
                    for call in delta.toolCalls {
                        w.beginObject()
                        w.field("index", call.index)
                        if let id = call.id { w.field("id", id) }
                        if call.id != nil || call.name != nil { w.field("type", "function") }
                        w.key("function")
                        w.beginObject()
                        if let name = call.name { w.field("name", name) }
                        w.field("arguments", call.arguments ?? "")
                        w.endObject()
                        w.endObject()
                    }
                    w.endArray()
                }
            }
            return false
        case .done(let done):
            // A cancelled request (the client hung up) has no OpenAI finish reason; it never reaches a reader.
            let textCompletion = self.textCompletion
            self.choiceChunk(into: &buffer, finishReason: done.finishReason == "cancelled" ? "stop" : done.finishReason) { w in
                if textCompletion { w.field("text", "") }
            }
            if self.includeUsage {
                self.event(into: &buffer) { w in
                    self.chunkHeader(&w)
                    w.key("choices")
                    w.beginArray()
                    w.endArray()
                    w.key("usage")
                    if let usage = done.usage { Self.usage(usage, into: &w) } else { w.null() }
                }
            }
            buffer.writeString("data: [DONE]\n\n")
            return true
        case .error(_, let error):
            // After the head went out, an error is a data event with an `error` object; no [DONE] follows.
            self.event(into: &buffer) { w in
                w.key("error")
                OpenAIErrorBody.write(error, into: &w)
            }
            return true
        case .hello, .pong, .models, .status, .reloaded, .embeddings:
            return false
        }
    }

    /// One chunk with choice 0: its `delta` (the role on the first chunk, then
    /// what `fields` writes) and its `finish_reason`.
    private mutating func choiceChunk(into buffer: inout ByteBuffer, finishReason: String?, _ fields: (inout JSONWriter) -> Void) {
        let sentRole = self.sentRole
        self.event(into: &buffer) { w in
            self.chunkHeader(&w)
            w.key("choices")
            w.beginArray()
            w.beginObject()
            w.field("index", 0)
            if self.textCompletion {
                fields(&w)
                w.key("logprobs")
                w.null()
            } else {
                w.key("delta")
                w.beginObject()
                if !sentRole { w.field("role", "assistant") }
                fields(&w)
                w.endObject()
            }
            w.field("finish_reason", finishReason)
            w.endObject()
            w.endArray()
        }
        self.sentRole = true
    }

    private func chunkHeader(_ w: inout JSONWriter) {
        w.field("id", self.completionID)
        w.field("object", self.textCompletion ? "text_completion" : "chat.completion.chunk")
        w.field("created", self.created)
        w.field("model", self.model)
    }

    private func event(into buffer: inout ByteBuffer, _ body: (inout JSONWriter) -> Void) {
        buffer.writeString("data: ")
        var writer = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        writer.beginObject()
        body(&writer)
        writer.endObject()
        buffer = writer.buffer
        buffer.writeString("\n\n")
    }

    /// OpenAI's usage object.
    static func usage(_ usage: Usage, into w: inout JSONWriter) {
        w.beginObject()
        w.field("prompt_tokens", usage.inputTokens)
        w.field("completion_tokens", usage.outputTokens)
        w.field("total_tokens", usage.inputTokens + usage.outputTokens)
        w.key("prompt_tokens_details")
        w.beginObject()
        w.field("cached_tokens", usage.cachedTokens)
        w.endObject()
        w.key("completion_tokens_details")
        w.beginObject()
        w.field("reasoning_tokens", usage.reasoningTokens)
        w.endObject()
        w.endObject()
    }
}
