package import LLMuxWire
package import NIOCore

/// Translates an OpenAI-shaped chat request into an Anthropic Messages request:
/// system messages become `system`, tools get `input_schema`, assistant tool
/// calls become `tool_use` blocks and tool results `tool_result` blocks (in a
/// user turn), image parts become image blocks, stop sequences, temperature
/// and top_p carry over. OpenAI options Anthropic does not know are dropped
/// (its API rejects unknown fields).
package enum AnthropicRequestBuilder {
    /// `max_tokens` is required by Anthropic; used when the request sets neither
    /// `max_tokens` nor `max_completion_tokens`.
    package static let defaultMaxTokens = 4096
    package static let apiVersion = "2023-06-01"

    /// Anthropic options passed through as given.
    static let passThrough: Set<String> = ["temperature", "top_p", "top_k", "metadata", "thinking"]

    package static func body(for request: ChatRequest, upstreamModel: String) -> ByteBuffer {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel),
            "stream": true,
        ]
        let maxTokens = (request.options["max_completion_tokens"] ?? request.options["max_tokens"])?.intValue
        body["max_tokens"] = .int(maxTokens ?? Int64(Self.defaultMaxTokens))
        for key in Self.passThrough { if let value = request.options[key], !value.isNull { body[key] = value } }
        switch request.options["stop"] {
        case .string(let stop)?: body["stop_sequences"] = [.string(stop)]
        case .array(let stops)?: body["stop_sequences"] = .array(stops)
        default: break
        }
        let (system, messages) = Self.messages(request.messages)
        if !system.isEmpty { body["system"] = .string(system) }
        body["messages"] = .array(messages)
        if case .array(let tools)? = request.options["tools"] {
            body["tools"] = .array(tools.compactMap(Self.tool))
        }
        if let choice = request.options["tool_choice"].flatMap(Self.toolChoice) { body["tool_choice"] = choice }
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }

    /// The system prompt and the alternating user/assistant turns.
    static func messages(_ openAI: [JSONValue]) -> (system: String, messages: [JSONValue]) {
        var system: [String] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            // Anthropic wants user and assistant turns to alternate: merge neighbours.
            if turns.last?.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        for message in openAI {
            let role = message["role"]?.stringValue ?? "user"
            switch role {
            case "system", "developer":
                system.append(Self.text(of: message["content"]))
            case "assistant":
                // Signed thinking first, as Anthropic gave it: the turn's reasoning carries on.
                var blocks = ReasoningState.items(in: message, format: "anthropic")
                blocks += Self.contentBlocks(message["content"])
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    let arguments = call["function"]?["arguments"]?.stringValue ?? "{}"
                    let input = (try? JSONValue.parse(arguments)).flatMap { $0.isObject ? $0 : nil } ?? .object([:])
                    blocks.append([
                        "type": "tool_use",
                        "id": call["id"] ?? "",
                        "name": call["function"]?["name"] ?? "",
                        "input": input,
                    ])
                }
                append("assistant", blocks)
            case "tool":
                append(
                    "user",
                    [
                        [
                            "type": "tool_result",
                            "tool_use_id": message["tool_call_id"] ?? "",
                            "content": .string(Self.text(of: message["content"])),
                        ]
                    ])
            default:
                append("user", Self.contentBlocks(message["content"]))
            }
        }
        let messages = turns.map { turn -> JSONValue in
            ["role": .string(turn.role), "content": .array(turn.blocks)]
        }
        return (system.filter { !$0.isEmpty }.joined(separator: "\n\n"), messages)
    }

    /// OpenAI content (a string or parts) as Anthropic content blocks.
    static func contentBlocks(_ content: JSONValue?) -> [JSONValue] {
        switch content {
        case .string(let text)?:
            return text.isEmpty ? [] : [["type": "text", "text": .string(text)]]
        case .array(let parts)?:
            return parts.compactMap { part -> JSONValue? in
                switch part["type"]?.stringValue {
                case "text":
                    return ["type": "text", "text": part["text"] ?? ""]
                case "image_url":
                    guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else { return nil }
                    return ["type": "image", "source": Self.imageSource(url)]
                default:
                    return nil
                }
            }
        default:
            return []
        }
    }

    /// `data:image/png;base64,...` inline; any other URL by reference.
    static func imageSource(_ url: String) -> JSONValue {
        if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
            let mediaType = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
            return ["type": "base64", "media_type": .string(String(mediaType)), "data": .string(String(url[url.index(after: comma)...]))]
        }
        return ["type": "url", "url": .string(url)]
    }

    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: return ""
        }
    }

    /// `{type:function, function:{name, description, parameters}}` as `{name, description, input_schema}`.
    static func tool(_ tool: JSONValue) -> JSONValue? {
        guard let function = tool["function"], let name = function["name"] else { return nil }
        var result: [String: JSONValue] = ["name": name, "input_schema": function["parameters"] ?? ["type": "object"]]
        if let description = function["description"] { result["description"] = description }
        return .object(result)
    }

    static func toolChoice(_ choice: JSONValue) -> JSONValue? {
        switch choice {
        case .string("auto"): return ["type": "auto"]
        case .string("required"): return ["type": "any"]
        case .string("none"): return ["type": "none"]
        case .object:
            guard let name = choice["function"]?["name"] else { return nil }
            return ["type": "tool", "name": name]
        default: return nil
        }
    }
}

extension JSONValue {
    var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}
