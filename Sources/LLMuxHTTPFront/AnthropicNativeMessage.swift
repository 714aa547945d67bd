import LLMuxWire
import NIOCore

/// Rebuilds an Anthropic upstream's own `Message` from its passing-through
/// events, the way the anthropic SDK's accumulator does, for a request
/// without `stream` (llmux always streams from upstreams): the upstream's id,
/// every content block as it came (thinking with its signature, redacted
/// thinking, server-tool blocks, citations, blocks of types llmux does not
/// know), `stop_reason`, `stop_sequence` and the usage, fields untouched.
struct AnthropicNativeMessage {
    private var message: [String: JSONValue]?
    /// Content blocks by their `index`.
    private var blocks: [Int: [String: JSONValue]] = [:]
    /// A `tool_use` block's input, as the JSON text its deltas spell so far.
    private var partialJSON: [Int: String] = [:]

    /// Whether a `message_start` arrived (the answer passed through).
    var isEmpty: Bool { self.message == nil }

    mutating func add(_ event: NativeEvent) {
        guard case .object(let fields)? = try? JSONValue.parse(event.data) else { return }
        let index = fields["index"]?.intValue.map { Int($0) }
        switch fields["type"]?.stringValue {
        case "message_start":
            self.message = fields["message"]?.objectValue
            self.blocks = [:]
            self.partialJSON = [:]
        case "content_block_start":
            if let index, let block = fields["content_block"]?.objectValue { self.blocks[index] = block }
        case "content_block_delta":
            guard let index, var block = self.blocks[index], let delta = fields["delta"]?.objectValue else { return }
            switch delta["type"]?.stringValue {
            case "text_delta": Self.append(delta["text"], to: "text", of: &block)
            case "thinking_delta": Self.append(delta["thinking"], to: "thinking", of: &block)
            case "signature_delta": block["signature"] = delta["signature"]
            case "input_json_delta": self.partialJSON[index, default: ""] += delta["partial_json"]?.stringValue ?? ""
            case "citations_delta":
                if let citation = delta["citation"] { block["citations"] = .array((block["citations"]?.arrayValue ?? []) + [citation]) }
            default: break
            }
            self.blocks[index] = block
        case "content_block_stop":
            guard let index, let json = self.partialJSON.removeValue(forKey: index) else { return }
            // The input the deltas spelled; an empty one is `{}`, as the block started.
            if !json.isEmpty, let input = try? JSONValue.parse(json) { self.blocks[index]?["input"] = input }
        case "message_delta":
            guard self.message != nil else { return }
            for (key, value) in fields["delta"]?.objectValue ?? [:] { self.message?[key] = value }
            if let usage = fields["usage"]?.objectValue {
                var merged = self.message?["usage"]?.objectValue ?? [:]
                for (key, value) in usage where !value.isNull { merged[key] = value }
                self.message?["usage"] = .object(merged)
            }
        default:
            // ping, message_stop, and event types newer than this build.
            break
        }
    }

    /// The message, its content in index order.
    func body() -> ByteBuffer {
        var message = self.message ?? [:]
        message["content"] = .array(self.blocks.keys.sorted().map { .object(self.blocks[$0]!) })
        var w = JSONWriter(buffer: ByteBuffer())
        w.value(.object(message))
        return w.buffer
    }

    private static func append(_ piece: JSONValue?, to key: String, of block: inout [String: JSONValue]) {
        guard let piece = piece?.stringValue else { return }
        block[key] = .string((block[key]?.stringValue ?? "") + piece)
    }
}
