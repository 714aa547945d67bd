/// One server-sent event of an upstream that speaks the client's own dialect
/// (see `NativeRequest`), as the upstream sent it: its `event:` name and its
/// `data` text, untouched. The HTTP front writes it back as is; llmux reads
/// the same event for usage, cost and the ledger.
public struct NativeEvent: Sendable, Hashable {
    /// The `event:` field, or `nil` when there was none.
    public var event: String?
    /// The joined `data:` lines.
    public var data: String

    public init(event: String?, data: String) {
        self.event = event
        self.data = data
    }
}
