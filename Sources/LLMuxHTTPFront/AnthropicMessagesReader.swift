import LLMuxWire
import NIOCore

/// Reads a `POST /v1/messages` body (Anthropic Messages) into the engine's
/// request, whose messages and options are in the OpenAI chat shape every
/// upstream dialect translates from:
/// - `system` (a string or text blocks) becomes a system message;
/// - `text` and `image` blocks become content parts (`image_url`, a data URL
///   for base64 sources); `tool_use` blocks become the assistant's
///   `tool_calls` (arguments as JSON text); `tool_result` blocks become
///   `tool` messages, ahead of the rest of their user turn;
/// - `thinking` and `redacted_thinking` blocks are dropped: their signatures
///   are only valid at Anthropic, and a translated request cannot carry them;
///   blocks of unknown types are ignored, as the API says;
/// - `tools` (custom tools with `input_schema`) become function tools; server
///   tools (with a `type` of their own) cannot be translated and are dropped;
/// - `tool_choice`, `max_tokens`, `stop_sequences`, `temperature`, `top_p`,
///   `top_k`, `thinking` and `metadata.user_id` carry over.
///
/// The body itself is kept too (`NativeRequest`): an Anthropic upstream gets it
/// as the client wrote it, only the model mapped.
enum AnthropicMessagesReader {
    struct Parsed: Sendable {
        var request: ChatRequest
        var stream: Bool
    }

    /// `count_tokens` bodies have no `max_tokens`: `maxTokensRequired` false lets it be absent
    /// (one that is given is still checked). `headers` are the client's `anthropic-version` and
    /// `anthropic-beta`, forwarded with the body when it passes through.
    static func parse(_ body: ByteBuffer, id: String, headers: [String: String] = [:], maxTokensRequired: Bool = true) throws(WireError) -> Parsed {
        let object = try RequestBodyFields.object(body)
        let stream = try RequestBodyFields.stream(object)
        var chat: [String: JSONValue] = [:]
        guard case .string(let model)? = object["model"], !model.isEmpty else {
            throw WireError(.invalidRequest, "'model' is required and must be a non-empty string")
        }
        chat["model"] = .string(model)
        if object["max_tokens"] != nil || maxTokensRequired {
            guard let maxTokens = object["max_tokens"]?.intValue, maxTokens > 0 else {
                throw WireError(.invalidRequest, "'max_tokens' is required and must be a positive integer")
            }
            chat["max_tokens"] = .int(maxTokens)
        }
        guard case .array(let turns)? = object["messages"] else { throw WireError(.invalidRequest, "'messages' is required and must be an array") }
        var messages: [JSONValue] = []
        if let system = object["system"], !system.isNull {
            let text = try Self.text(of: system, field: "system")
            if !text.isEmpty { messages.append(["role": "system", "content": .string(text)]) }
        }
        for (index, turn) in turns.enumerated() { messages += try Self.messages(from: turn, at: index) }
        guard messages.contains(where: { $0["role"]?.stringValue != "system" }) else {
            throw WireError(.invalidRequest, "'messages' must hold at least one user or assistant message")
        }
        chat["messages"] = .array(messages)
        if case .array(let stops)? = object["stop_sequences"], !stops.isEmpty { chat["stop"] = .array(stops) }
        for key in ["temperature", "top_p", "top_k", "thinking"] {
            if let value = object[key], !value.isNull { chat[key] = value }
        }
        if let user = object["metadata"]?["user_id"], case .string = user { chat["user"] = user }
        if case .array(let tools)? = object["tools"] {
            let functions = tools.compactMap(Self.function)
            if !functions.isEmpty { chat["tools"] = .array(functions) }
        }
        if let choice = object["tool_choice"], !choice.isNull {
            let (mapped, parallel) = try Self.toolChoice(choice)
            if let mapped { chat["tool_choice"] = mapped }
            if parallel == false, chat["tools"] != nil { chat["parallel_tool_calls"] = false }
        }
        var request: ChatRequest
        do {
            request = try ChatRequest.decode(id: id, object: chat)
        } catch {
            throw error.error
        }
        // An Anthropic upstream gets the body as written, with all the translation leaves out.
        request.native = NativeRequest(dialect: .anthropicMessages, body: object, headers: headers)
        return Parsed(request: request, stream: stream)
    }

    /// One Anthropic turn as OpenAI chat messages (a user turn's tool results become `tool` messages first).
    static func messages(from turn: JSONValue, at index: Int) throws(WireError) -> [JSONValue] {
        guard case .string(let role)? = turn["role"], role == "user" || role == "assistant" else {
            throw WireError(.invalidRequest, "messages[\(index)].role must be \"user\" or \"assistant\"")
        }
        switch turn["content"] {
        case .string(let text)?:
            return [["role": .string(role), "content": .string(text)]]
        case .array(let blocks)?:
            var parts: [JSONValue] = []
            var toolCalls: [JSONValue] = []
            var toolResults: [JSONValue] = []
            for block in blocks {
                switch block["type"]?.stringValue {
                case "text":
                    if let text = block["text"]?.stringValue { parts.append(["type": "text", "text": .string(text)]) }
                case "image":
                    if let url = Self.imageURL(block["source"]) { parts.append(["type": "image_url", "image_url": ["url": .string(url)]]) }
                case "tool_use" where role == "assistant":
                    let input = block["input"] ?? .object([:])
                    toolCalls.append([
                        "id": block["id"] ?? "",
                        "type": "function",
                        "function": ["name": block["name"] ?? "", "arguments": .string(input.jsonString)],
                    ])
                case "tool_result" where role == "user":
                    var content = (try? Self.text(of: block["content"] ?? "", field: "tool_result.content")) ?? ""
                    if block["is_error"]?.boolValue == true { content = "Error: " + content }
                    toolResults.append(["role": "tool", "tool_call_id": block["tool_use_id"] ?? "", "content": .string(content)])
                default:
                    // thinking, redacted_thinking, documents, server-tool blocks and types to come.
                    continue
                }
            }
            var messages = toolResults
            if role == "assistant" {
                var message: [String: JSONValue] = ["role": "assistant"]
                let text = parts.compactMap { $0["text"]?.stringValue }.joined()
                message["content"] = text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)
                if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
                if !text.isEmpty || !toolCalls.isEmpty { messages.append(.object(message)) }
            } else if !parts.isEmpty {
                messages.append(["role": "user", "content": .array(parts)])
            }
            return messages
        default:
            throw WireError(.invalidRequest, "messages[\(index)].content must be a string or an array of content blocks")
        }
    }

    /// A string, or the text of text blocks, joined.
    static func text(of value: JSONValue, field: String) throws(WireError) -> String {
        switch value {
        case .string(let text): return text
        case .array(let blocks): return blocks.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
        default: throw WireError(.invalidRequest, "'\(field)' must be a string or an array of text blocks")
        }
    }

    /// A base64 source as a data URL; a URL source as itself.
    static func imageURL(_ source: JSONValue?) -> String? {
        switch source?["type"]?.stringValue {
        case "base64":
            guard let mediaType = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else { return nil }
            return "data:\(mediaType);base64,\(data)"
        case "url":
            return source?["url"]?.stringValue
        default:
            return nil
        }
    }

    /// A custom tool as an OpenAI function tool; `nil` for server tools, which have a `type` of their own.
    static func function(_ tool: JSONValue) -> JSONValue? {
        if let type = tool["type"]?.stringValue, type != "custom" { return nil }
        guard let name = tool["name"], case .string = name else { return nil }
        var function: [String: JSONValue] = ["name": name, "parameters": tool["input_schema"] ?? ["type": "object"]]
        if let description = tool["description"], case .string = description { function["description"] = description }
        return ["type": "function", "function": .object(function)]
    }

    /// `tool_choice` in OpenAI's terms, and whether parallel tool use stays allowed.
    static func toolChoice(_ choice: JSONValue) throws(WireError) -> (JSONValue?, parallel: Bool?) {
        let parallel = choice["disable_parallel_tool_use"]?.boolValue.map { !$0 }
        switch choice["type"]?.stringValue {
        case "auto": return ("auto", parallel)
        case "any": return ("required", parallel)
        case "none": return ("none", parallel)
        case "tool":
            guard case .string(let name)? = choice["name"] else { throw WireError(.invalidRequest, "tool_choice of type \"tool\" needs a 'name'") }
            return (["type": "function", "function": ["name": .string(name)]], parallel)
        default:
            throw WireError(.invalidRequest, "tool_choice.type must be \"auto\", \"any\", \"tool\" or \"none\"")
        }
    }
}
