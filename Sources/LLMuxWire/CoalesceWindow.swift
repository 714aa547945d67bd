/// The `coalesce_ms` field of `hello` and `chat`: after a delta was sent, the
/// daemon merges a request's further deltas for this many milliseconds and
/// sends them as one, so that an editor redraws at most once per window.
public enum CoalesceWindow {
    /// The largest window a client may ask for.
    public static let maxMilliseconds = 1000

    /// Reads an optional `coalesce_ms` value: absent or `null` is `nil`, else a whole number 0...1000.
    static func decode(_ value: JSONValue?, id: String?) throws(FrameDecodingError) -> Int? {
        switch value {
        case nil, .null?:
            return nil
        case let value?:
            guard let ms = value.intValue, ms >= 0, ms <= Int64(maxMilliseconds) else {
                throw FrameDecodingError(
                    .invalidRequest,
                    "field 'coalesce_ms' must be a whole number of milliseconds between 0 and \(maxMilliseconds)",
                    id: id
                )
            }
            return Int(ms)
        }
    }
}
