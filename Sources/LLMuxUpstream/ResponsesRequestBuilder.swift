package import LLMuxWire
package import NIOCore

/// Translates an OpenAI chat request into an OpenAI Responses request
/// (`kind = "openai-responses"`), stateless (`store: false`): system and
/// developer messages become `instructions`; user and assistant messages
/// become message items (`input_text`, `input_image`, `output_text`);
/// assistant tool calls become `function_call` items and tool messages
/// `function_call_output` items; tools are flattened; `max_tokens` becomes
/// `max_output_tokens`, `reasoning_effort` `reasoning.effort`,
/// `response_format` `text.format`. Chat options Responses does not take
/// (`stop`, `n`, penalties, `stream_options`, ...) are dropped.
package enum ResponsesRequestBuilder {
    /// Chat options that mean the same in Responses.
    static let passThrough: Set<String> = ["temperature", "top_p", "parallel_tool_calls", "user", "prompt_cache_key", "service_tier", "metadata"]

    package static func body(for request: ChatRequest, upstreamModel: String) -> ByteBuffer {
        var body: [String: JSONValue] = ["model": .string(upstreamModel), "stream": true, "store": false]
        for key in Self.passThrough { if let value = request.options[key], !value.isNull { body[key] = value } }
        if let maxTokens = request.options["max_completion_tokens"] ?? request.options["max_tokens"], !maxTokens.isNull {
            body["max_output_tokens"] = maxTokens
        }
        if case .string(let effort)? = request.options["reasoning_effort"] { body["reasoning"] = ["effort": .string(effort)] }
        if let format = request.options["response_format"], let textFormat = Self.textFormat(format) { body["text"] = ["format": textFormat] }
        let (instructions, input) = Self.input(request.messages)
        // Stateless reasoning carries on only if its encrypted content comes back to be replayed.
        if body["reasoning"] != nil || request.messages.contains(where: { !ReasoningState.items(in: $0, format: "openai-responses").isEmpty }) {
            body["include"] = ["reasoning.encrypted_content"]
        }
        if !instructions.isEmpty { body["instructions"] = .string(instructions) }
        body["input"] = .array(input)
        if case .array(let tools)? = request.options["tools"] {
            let flat = tools.compactMap(Self.tool)
            if !flat.isEmpty { body["tools"] = .array(flat) }
        }
        if let choice = request.options["tool_choice"].flatMap(Self.toolChoice) { body["tool_choice"] = choice }
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }

    /// The instructions (every system and developer message, joined) and the input items.
    static func input(_ messages: [JSONValue]) -> (instructions: String, items: [JSONValue]) {
        var instructions: [String] = []
        var items: [JSONValue] = []
        for message in messages {
            let role = message["role"]?.stringValue ?? "user"
            switch role {
            case "system", "developer":
                instructions.append(AnthropicRequestBuilder.text(of: message["content"]))
            case "tool":
                items.append([
                    "type": "function_call_output",
                    "call_id": message["tool_call_id"] ?? "",
                    "output": .string(AnthropicRequestBuilder.text(of: message["content"])),
                ])
            case "assistant":
                items += ReasoningState.items(in: message, format: "openai-responses")
                let text = AnthropicRequestBuilder.text(of: message["content"])
                if !text.isEmpty {
                    items.append(["type": "message", "role": "assistant", "content": [["type": "output_text", "text": .string(text)]]])
                }
                for call in message["tool_calls"]?.arrayValue ?? [] {
                    items.append([
                        "type": "function_call",
                        "call_id": call["id"] ?? "",
                        "name": call["function"]?["name"] ?? "",
                        "arguments": call["function"]?["arguments"] ?? "{}",
                    ])
                }
            default:
                items.append(["type": "message", "role": "user", "content": .array(Self.userParts(message["content"]))])
            }
        }
        return (instructions.filter { !$0.isEmpty }.joined(separator: "\n\n"), items)
    }

    static func userParts(_ content: JSONValue?) -> [JSONValue] {
        switch content {
        case .string(let text)?:
            return [["type": "input_text", "text": .string(text)]]
        case .array(let parts)?:
            return parts.compactMap { part -> JSONValue? in
                switch part["type"]?.stringValue {
                case "text":
                    return ["type": "input_text", "text": part["text"] ?? ""]
                case "image_url":
                    guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else { return nil }
                    return ["type": "input_image", "image_url": .string(url)]
                default:
                    return nil
                }
            }
        default:
            return []
        }
    }

    /// `{type:function, function:{name, description, parameters, strict}}` flattened.
    static func tool(_ tool: JSONValue) -> JSONValue? {
        guard let function = tool["function"], let name = function["name"] else { return nil }
        var flat: [String: JSONValue] = ["type": "function", "name": name, "parameters": function["parameters"] ?? ["type": "object"]]
        if let description = function["description"] { flat["description"] = description }
        if let strict = function["strict"] { flat["strict"] = strict }
        return .object(flat)
    }

    static func toolChoice(_ choice: JSONValue) -> JSONValue? {
        switch choice {
        case .string: return choice
        case .object:
            guard let name = choice["function"]?["name"] else { return nil }
            return ["type": "function", "name": name]
        default: return nil
        }
    }

    /// `response_format` as `text.format` (JSON schema flattened).
    static func textFormat(_ format: JSONValue) -> JSONValue? {
        switch format["type"]?.stringValue {
        case "json_schema":
            guard let schema = format["json_schema"] else { return nil }
            var flat: [String: JSONValue] = ["type": "json_schema", "name": schema["name"] ?? "response", "schema": schema["schema"] ?? ["type": "object"]]
            if let strict = schema["strict"] { flat["strict"] = strict }
            return .object(flat)
        case "json_object":
            return ["type": "json_object"]
        default:
            return nil
        }
    }
}
