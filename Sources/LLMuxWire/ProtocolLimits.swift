/// Limits the daemon announces in its `hello` frame and enforces.
public struct ProtocolLimits: Sendable, Hashable {
    /// The longest client line accepted, newline excluded.
    public var maxLineBytes: Int
    /// How many chat requests one connection may have in flight at once.
    public var maxInFlight: Int

    public static let `default` = ProtocolLimits(maxLineBytes: 8 * 1024 * 1024, maxInFlight: 1024)

    public init(maxLineBytes: Int, maxInFlight: Int) {
        self.maxLineBytes = maxLineBytes
        self.maxInFlight = maxInFlight
    }
}

/// The protocol versions this build speaks.
public enum ProtocolVersion {
    public static let supported: [Int] = [1]
    public static let current = 1
}
