/// Turns one provider's server-sent events into normalized `UpstreamEvent`s.
/// Interpreters may keep state across events (Anthropic numbers tool calls).
package protocol StreamInterpreter: Sendable {
    mutating func interpret(_ event: SSEEvent) throws(StreamInterpreterFailure) -> [UpstreamEvent]
}

package enum StreamInterpreterFailure: Error, Sendable, Hashable {
    /// An event's data was not the JSON the provider's format needs.
    case invalidJSON(String)
}
