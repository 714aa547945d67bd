package import LLMuxWire

/// The `reasoning_state` a client sends back on an assistant message (from the
/// `done` frame of that turn): items opaque but for their `format`, each
/// replayed only to an upstream of that kind, dropped for every other.
package enum ReasoningState {
    /// The message's items of `format`, as the upstream takes them: an Anthropic thinking
    /// block without the `format` key; an OpenAI Responses reasoning item as its `item`.
    package static func items(in message: JSONValue, format: String) -> [JSONValue] {
        (message["reasoning_state"]?.arrayValue ?? []).compactMap { entry in
            guard case .object(var fields) = entry, fields["format"]?.stringValue == format else { return nil }
            if format == "openai-responses" { return fields["item"] }
            fields["format"] = nil
            return .object(fields)
        }
    }

    /// The messages without `reasoning_state`, for upstreams whose API has no such field.
    package static func removed(from messages: [JSONValue]) -> [JSONValue] {
        guard messages.contains(where: { $0["reasoning_state"] != nil }) else { return messages }
        return messages.map { message in
            guard case .object(var fields) = message, fields["reasoning_state"] != nil else { return message }
            fields["reasoning_state"] = nil
            return .object(fields)
        }
    }
}
