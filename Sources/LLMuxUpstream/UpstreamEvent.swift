package import LLMuxWire

/// What a provider adapter extracts from its stream, normalized across
/// providers. The engine turns these into wire frames.
package enum UpstreamEvent: Sendable, Hashable {
    /// New output. At least one of the parts is present.
    case delta(text: String?, reasoning: String?, toolCalls: [ToolCallFragment])
    /// The choice finished, with the provider's reason (`stop`, `length`, ...).
    case finish(reason: String)
    /// Token counts; a later one replaces an earlier one.
    case usage(Usage)
    /// The explicit end of the stream (`data: [DONE]`).
    case end
    /// A finished piece of reasoning state to send back with the assistant's turn
    /// (`DoneFrame.reasoningState`): `{"format": KIND, ...}`, opaque to clients.
    case reasoningState(JSONValue)
    /// An embeddings answer: one vector per input, in order.
    case embeddings([[Double]])
    /// The upstream reported an error inside the stream.
    case error(message: String)
    /// The event the normalized events that follow it came from, as the upstream sent it; only
    /// when the request passes through in the upstream's own dialect (`NativeRequest`).
    case native(NativeEvent)
}
