import LLMuxWire
import NIOCore

/// Reads a `POST /v1/responses` body (OpenAI Responses, stateless) into the
/// engine's request, in the OpenAI chat shape every upstream dialect
/// translates from:
/// - `instructions` becomes the system message; `input` is a string (one user
///   message) or items: `message` items (`input_text`, `output_text` and
///   `input_image` parts; `developer` as `system`), `function_call` items as
///   the assistant's `tool_calls`, `function_call_output` items as `tool`
///   messages; `reasoning` items are dropped (their encrypted content is only
///   valid at OpenAI);
/// - function tools are flattened back into chat's nested shape; other tool
///   types (web search, custom) cannot be translated and are dropped;
/// - `tool_choice`, `parallel_tool_calls`, `max_output_tokens` (as
///   `max_tokens`), `reasoning.effort` (as `reasoning_effort`), `text.format`
///   (as `response_format`), `temperature`, `top_p` and `user` carry over.
///
/// Nothing is stored, so `previous_response_id` and `item_reference` items are
/// refused with `previous_response_not_found` rather than ignored.
enum ResponsesRequestReader {
    struct Parsed: Sendable {
        var request: ChatRequest
        var stream: Bool
    }

    /// A refusal with OpenAI's own code and parameter, for what a stateless server cannot serve.
    struct NotStored: Error {
        var message: String
        var param: String
    }

    enum Failure: Error {
        case invalid(WireError)
        case notStored(NotStored)
    }

    static func parse(_ body: ByteBuffer, id: String) throws(Failure) -> Parsed {
        let object: [String: JSONValue]
        do {
            object = try RequestBodyFields.object(body)
        } catch {
            throw .invalid(error)
        }
        if case .string(let previous)? = object["previous_response_id"], !previous.isEmpty {
            throw .notStored(
                NotStored(
                    message: "Previous response with id '\(previous)' not found. llmux stores no responses: send the whole conversation as input.",
                    param: "previous_response_id"))
        }
        let stream: Bool
        do {
            stream = try RequestBodyFields.stream(object)
        } catch {
            throw .invalid(error)
        }
        var chat: [String: JSONValue] = [:]
        if let model = object["model"] { chat["model"] = model }
        var messages: [JSONValue] = []
        if case .string(let instructions)? = object["instructions"], !instructions.isEmpty {
            messages.append(["role": "system", "content": .string(instructions)])
        }
        switch object["input"] {
        case .string(let text)?:
            messages.append(["role": "user", "content": .string(text)])
        case .array(let items)?:
            messages += try Self.messages(from: items)
        default:
            throw .invalid(WireError(.invalidRequest, "'input' is required: a string or an array of input items"))
        }
        guard messages.contains(where: { $0["role"]?.stringValue != "system" }) else {
            throw .invalid(WireError(.invalidRequest, "'input' must hold at least one message"))
        }
        chat["messages"] = .array(messages)
        if case .array(let tools)? = object["tools"] {
            let functions = tools.compactMap(Self.function)
            if !functions.isEmpty { chat["tools"] = .array(functions) }
        }
        if let choice = object["tool_choice"], !choice.isNull { chat["tool_choice"] = try Self.toolChoice(choice) }
        if case .bool? = object["parallel_tool_calls"], chat["tools"] != nil { chat["parallel_tool_calls"] = object["parallel_tool_calls"] }
        if let maxTokens = object["max_output_tokens"], !maxTokens.isNull { chat["max_tokens"] = maxTokens }
        if case .string(let effort)? = object["reasoning"]?["effort"] { chat["reasoning_effort"] = .string(effort) }
        if let format = object["text"]?["format"], let responseFormat = Self.responseFormat(format) { chat["response_format"] = responseFormat }
        for key in ["temperature", "top_p", "user", "timeout_ms"] {
            if let value = object[key], !value.isNull { chat[key] = value }
        }
        do {
            var request = try ChatRequest.decode(id: id, object: chat)
            // An `openai-responses` upstream gets the body as written.
            request.native = NativeRequest(dialect: .openAIResponses, body: object)
            return Parsed(request: request, stream: stream)
        } catch {
            throw .invalid(error.error)
        }
    }

    /// Input items as chat messages; consecutive function calls join one assistant message.
    static func messages(from items: [JSONValue]) throws(Failure) -> [JSONValue] {
        var messages: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : nil)
            switch type {
            case "message":
                guard case .string(var role)? = item["role"] else {
                    throw .invalid(WireError(.invalidRequest, "input[\(index)].role is required"))
                }
                if role == "developer" { role = "system" }
                messages.append(["role": .string(role), "content": Self.content(item["content"], role: role)])
            case "function_call":
                let call: JSONValue = [
                    "id": item["call_id"] ?? "",
                    "type": "function",
                    "function": ["name": item["name"] ?? "", "arguments": item["arguments"] ?? "{}"],
                ]
                if case .object(var last)? = messages.last, last["role"]?.stringValue == "assistant", case .array(let calls)? = last["tool_calls"] {
                    last["tool_calls"] = .array(calls + [call])
                    messages[messages.count - 1] = .object(last)
                } else {
                    messages.append(["role": "assistant", "content": .null, "tool_calls": [call]])
                }
            case "function_call_output":
                let output: String
                switch item["output"] {
                case .string(let text)?: output = text
                case .array(let parts)?: output = parts.compactMap { $0["text"]?.stringValue }.joined()
                default: output = ""
                }
                messages.append(["role": "tool", "tool_call_id": item["call_id"] ?? "", "content": .string(output)])
            case "item_reference":
                throw .notStored(NotStored(message: "Item with id '\(item["id"]?.stringValue ?? "")' not found. llmux stores no items.", param: "input"))
            default:
                // reasoning items (their encrypted content is OpenAI's), and item types to come.
                continue
            }
        }
        return messages
    }

    /// A message's content: a string, or parts as chat content parts.
    static func content(_ content: JSONValue?, role: String) -> JSONValue {
        switch content {
        case .string(let text)?:
            return .string(text)
        case .array(let parts)?:
            let converted = parts.compactMap { part -> JSONValue? in
                switch part["type"]?.stringValue {
                case "input_text", "output_text", "text":
                    return ["type": "text", "text": part["text"] ?? ""]
                case "input_image":
                    guard case .string(let url)? = part["image_url"] else { return nil }
                    return ["type": "image_url", "image_url": ["url": .string(url)]]
                default:
                    return nil
                }
            }
            // Assistant and system turns as plain text: not every upstream takes parts there.
            if role != "user" { return .string(converted.compactMap { $0["text"]?.stringValue }.joined()) }
            return .array(converted)
        default:
            return ""
        }
    }

    /// A flat function tool as chat's `{type, function:{...}}`; `nil` for other tool types.
    static func function(_ tool: JSONValue) -> JSONValue? {
        guard tool["type"]?.stringValue == "function", case .string? = tool["name"] else { return nil }
        var function: [String: JSONValue] = ["name": tool["name"]!, "parameters": tool["parameters"] ?? ["type": "object"]]
        if let description = tool["description"], !description.isNull { function["description"] = description }
        if let strict = tool["strict"], !strict.isNull { function["strict"] = strict }
        return ["type": "function", "function": .object(function)]
    }

    static func toolChoice(_ choice: JSONValue) throws(Failure) -> JSONValue {
        switch choice {
        case .string("none"), .string("auto"), .string("required"):
            return choice
        case .object:
            guard choice["type"]?.stringValue == "function", case .string(let name)? = choice["name"] else {
                throw .invalid(WireError(.invalidRequest, "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}"))
            }
            return ["type": "function", "function": ["name": .string(name)]]
        default:
            throw .invalid(WireError(.invalidRequest, "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}"))
        }
    }

    /// `text.format` as chat's `response_format`; plain text needs none.
    static func responseFormat(_ format: JSONValue) -> JSONValue? {
        switch format["type"]?.stringValue {
        case "json_schema":
            var schema: [String: JSONValue] = ["name": format["name"] ?? "response", "schema": format["schema"] ?? ["type": "object"]]
            if let strict = format["strict"], !strict.isNull { schema["strict"] = strict }
            return ["type": "json_schema", "json_schema": .object(schema)]
        case "json_object":
            return ["type": "json_object"]
        default:
            return nil
        }
    }
}
