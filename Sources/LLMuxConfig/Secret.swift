/// A credential. It prints as `<redacted>` everywhere (logs, errors,
/// `String(describing:)`, debugger dumps), so it can be passed around without
/// leaking. Only `reveal()` gives the value, and only the HTTP layer calls it
/// to build the outgoing header.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    package init(_ value: String) {
        self.value = value
    }

    package func reveal() -> String { self.value }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: []) }

    /// Compares with `candidate` in time that does not depend on where they differ.
    package func matches(_ candidate: some StringProtocol) -> Bool {
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
    package func redact(in text: String) -> String {
        guard self.value.count >= 4 else { return text }
        return text.replacing(self.value, with: "<redacted>")
    }
}
