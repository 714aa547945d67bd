import LLMuxWire
import NIOCore

/// llama.cpp's streamed `/infill` answer: `data: {"content","stop":false}` per delta, and a last
/// event with `stop: true` and the counts; an error after output began is `data: {"error":...}`.
struct InfillEventEncoder: StreamEncoder {
    mutating func append(_ frame: ServerFrame, to buffer: inout ByteBuffer) -> Bool {
        switch frame {
        case .delta(let delta):
            guard let text = delta.text, !text.isEmpty else { return false }
            var w = JSONWriter(buffer: ByteBuffer())
            w.beginObject()
            w.field("content", text)
            w.field("stop", false)
            w.endObject()
            Self.event(w.buffer, into: &buffer)
            return false
        case .done(let done):
            let last = Self.last(
                text: "", usage: done.usage, stopType: Self.stopType(done.finishReason), totalMs: done.timing.totalMs)
            Self.event(last, into: &buffer)
            return true
        case .error(_, let error):
            var w = JSONWriter(buffer: ByteBuffer())
            w.beginObject()
            w.key("error")
            OpenAIErrorBody.write(error, into: &w)
            w.endObject()
            Self.event(w.buffer, into: &buffer)
            return true
        default:
            return false
        }
    }

    private static func event(_ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeString("data: ")
        var payload = payload
        buffer.writeBuffer(&payload)
        buffer.writeString("\n\n")
    }

    /// llama.cpp's `stop_type` for a finish reason: `limit` when cut at the token limit, else `eos`.
    static func stopType(_ finishReason: String) -> String {
        finishReason == "length" ? "limit" : "eos"
    }

    /// The final object: `content`, `stop: true`, `stop_type`, the token counts and timings.
    static func last(text: String, usage: Usage?, stopType: String, totalMs: Int) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("content", text)
        w.field("stop", true)
        w.field("stop_type", stopType)
        w.field("tokens_predicted", usage?.outputTokens ?? 0)
        w.field("tokens_evaluated", usage?.inputTokens ?? 0)
        w.field("truncated", false)
        w.key("timings")
        w.beginObject()
        w.field("prompt_n", usage?.inputTokens ?? 0)
        w.field("predicted_n", usage?.outputTokens ?? 0)
        w.field("predicted_ms", totalMs)
        w.endObject()
        w.endObject()
        return w.buffer
    }
}
