import LLMuxWire
import NIOCore

/// Writes the engine's frames as Anthropic Messages server-sent events, in
/// the order the anthropic SDK's accumulator (and Claude Code's stricter one)
/// needs: `message_start` first, with a usage object of zeros (the real counts
/// come with `message_delta`, which overwrites them), then `ping`, then one
/// content block at a time with increasing indexes (a `thinking` block for
/// reasoning, a `text` block, a `tool_use` block per tool call), every delta
/// of the type its block expects and never empty, then `message_delta` with
/// the stop reason and the usage, and `message_stop`. An error after output
/// began is an `error` event, which ends the stream.
///
/// An answer passing through from an Anthropic upstream (deltas that carry the
/// upstream's own events) is written as those events, unchanged; only what the
/// upstream's stream lacked at its end (`message_delta`, `message_stop`) is
/// added, and an error is the same `error` event.
struct AnthropicEventEncoder: StreamEncoder {
    /// The kind of the open content block.
    private enum Block: Equatable {
        case text
        case thinking
        /// A tool call, by its ordinal in the answer.
        case toolUse(Int)
    }

    let messageID: String
    /// The upstream model, from the `start` frame.
    var model: String
    private var started = false
    private var block: Block?
    private var nextIndex = 0
    /// The upstream's `message_delta` and `message_stop` passed through.
    private var passedDelta = false
    private var passedStop = false

    init(messageID: String, model: String) {
        self.messageID = messageID
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
            self.startMessage(into: &buffer)
            if let reasoning = delta.reasoning, !reasoning.isEmpty {
                self.open(.thinking, into: &buffer)
                self.delta(into: &buffer) { w in
                    w.field("type", "thinking_delta")
                    w.field("thinking", reasoning)
                }
            }
            if let text = delta.text, !text.isEmpty {
                self.open(.text, into: &buffer)
                self.delta(into: &buffer) { w in
                    w.field("type", "text_delta")
                    w.field("text", text)
                }
            }
            for call in delta.toolCalls {
                self.open(.toolUse(call.index), id: call.id, name: call.name, into: &buffer)
                if let arguments = call.arguments, !arguments.isEmpty {
                    self.delta(into: &buffer) { w in
                        w.field("type", "input_json_delta")
                        w.field("partial_json", arguments)
                    }
                }
            }
            return false
        case .done(let done):
            self.startMessage(into: &buffer)
            self.close(into: &buffer)
            if self.passedStop { return true }
            if !self.passedDelta { self.messageDelta(done, into: &buffer) }
            Self.event("message_stop", into: &buffer) { _ in }
            return true
        case .error(_, let error):
            self.startMessage(into: &buffer)
            buffer.writeString("event: error\ndata: ")
            var w = JSONWriter(buffer: buffer)
            buffer = ByteBuffer()
            let type = error.code == .upstreamHTTP && error.httpStatus == 529 ? "overloaded_error" : "api_error"
            AnthropicErrorBody.write(type: type, message: error.message, requestID: nil, into: &w)
            buffer = w.buffer
            buffer.writeString("\n\n")
            return true
        default:
            return false
        }
    }

    /// One of the upstream's events, as it came.
    private mutating func pass(_ native: NativeEvent, into buffer: inout ByteBuffer) {
        switch native.event {
        case "message_start": self.started = true
        case "message_delta": self.passedDelta = true
        case "message_stop": self.passedStop = true
        default: break
        }
        native.write(into: &buffer)
    }

    /// `message_delta` with the stop reason and the usage of `done`.
    private func messageDelta(_ done: DoneFrame, into buffer: inout ByteBuffer) {
        Self.event("message_delta", into: &buffer) { w in
            w.key("delta")
            w.beginObject()
            w.field("stop_reason", Self.stopReason(done.finishReason))
            w.key("stop_sequence")
            w.null()
            w.endObject()
            w.key("usage")
            Self.usage(done.usage ?? Usage(inputTokens: 0, outputTokens: 0), into: &w)
        }
    }

    /// `message_start` and a `ping`, once.
    private mutating func startMessage(into buffer: inout ByteBuffer) {
        guard !self.started else { return }
        self.started = true
        let (id, model) = (self.messageID, self.model)
        Self.event("message_start", into: &buffer) { w in
            w.key("message")
            AnthropicMessageAssembler.messageHead(id: id, model: model, into: &w)
            w.key("content")
            w.beginArray()
            w.endArray()
            w.key("stop_reason")
            w.null()
            w.key("stop_sequence")
            w.null()
            w.key("usage")
            Self.usage(Usage(inputTokens: 0, outputTokens: 0), into: &w)
            w.endObject()
        }
        Self.event("ping", into: &buffer) { _ in }
    }

    /// Closes the open block unless it is `kind`, and opens `kind` (a tool call's block with the
    /// `id` and `name` of its first fragment).
    private mutating func open(_ kind: Block, id: String? = nil, name: String? = nil, into buffer: inout ByteBuffer) {
        if self.block == kind { return }
        self.close(into: &buffer)
        self.block = kind
        let index = self.nextIndex
        Self.event("content_block_start", into: &buffer) { w in
            w.field("index", index)
            w.key("content_block")
            w.beginObject()
            switch kind {
            case .text:
                w.field("type", "text")
                w.field("text", "")
            case .thinking:
                // llmux has no signature to give: a replayed block is dropped, never sent to Anthropic unsigned.
                w.field("type", "thinking")
                w.field("thinking", "")
                w.field("signature", "")
            case .toolUse(let ordinal):
                w.field("type", "tool_use")
                w.field("id", id ?? "toolu_llmux_\(ordinal)")
                w.field("name", name ?? "")
                w.key("input")
                w.beginObject()
                w.endObject()
            }
            w.endObject()
        }
    }

    private mutating func close(into buffer: inout ByteBuffer) {
        guard self.block != nil else { return }
        let index = self.nextIndex
        Self.event("content_block_stop", into: &buffer) { w in w.field("index", index) }
        self.block = nil
        self.nextIndex += 1
    }

    private func delta(into buffer: inout ByteBuffer, _ fields: (inout JSONWriter) -> Void) {
        let index = self.nextIndex
        Self.event("content_block_delta", into: &buffer) { w in
            w.field("index", index)
            w.key("delta")
            w.beginObject()
            fields(&w)
            w.endObject()
        }
    }

    /// `event: NAME` and `data: {"type":NAME,...}`: the SDK dispatches on the event line.
    private static func event(_ name: String, into buffer: inout ByteBuffer, _ body: (inout JSONWriter) -> Void) {
        buffer.writeString("event: \(name)\ndata: ")
        var w = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        w.beginObject()
        w.field("type", name)
        body(&w)
        w.endObject()
        buffer = w.buffer
        buffer.writeString("\n\n")
    }

    /// An OpenAI finish reason as Anthropic's stop reason.
    static func stopReason(_ finishReason: String) -> String {
        switch finishReason {
        case "length": return "max_tokens"
        case "tool_calls", "function_call": return "tool_use"
        case "content_filter": return "refusal"
        default: return "end_turn"
        }
    }

    /// Anthropic's usage: `input_tokens` without the cache reads and writes, which are counted apart.
    static func usage(_ usage: Usage, into w: inout JSONWriter) {
        w.beginObject()
        w.field("input_tokens", max(0, usage.inputTokens - usage.cachedTokens - usage.cacheWriteTokens))
        w.field("output_tokens", usage.outputTokens)
        w.field("cache_creation_input_tokens", usage.cacheWriteTokens)
        w.field("cache_read_input_tokens", usage.cachedTokens)
        w.endObject()
    }
}
