/// A credential. It prints as `<redacted>` everywhere (logs, errors,
/// `String(describing:)`, debugger dumps), so it can be passed around without
/// leaking. Only `reveal()` gives the value, and only the HTTP layer calls it
/// to build the outgoing header.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    public func reveal() -> String { self.value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }

    /// Compares with `candidate` in time that does not depend on where they differ.
    public func matches(_ candidate: some StringProtocol) -> Bool {
        let expected = Array(self.value.utf8)
        let given = Array(candidate.utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }

    /// Replaces every occurrence of this secret in `text` (an upstream error
    /// message may quote the key it rejected).
    public func redact(in text: String) -> String {
        guard self.value.count >= 4 else { return text }
        return text.replacing(self.value, with: "<redacted>")
    }
}
