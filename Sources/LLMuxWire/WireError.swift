/// An error as it travels on the wire: the payload of an `error` frame.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: WireErrorCode
    public var message: String
    public var retryable: Bool
    public var httpStatus: Int?
    public var retryAfterMs: Int?
    /// Deltas were delivered before the failure (`upstream_interrupted`).
    public var partial: Bool = false
    /// For `upstream_interrupted`: the code the failure would have had before
    /// the first delta (`upstream_truncated`, `upstream_timeout`, ...).
    public var cause: WireErrorCode?
    /// The attempts made, for a request that was accepted; `nil` otherwise.
    public var attempts: [AttemptRecord]?
    /// What the output delivered before the failure cost (`partial` errors only).
    public var cost: RequestCost?
    /// For `budget_exceeded`: when the budget resets (ISO 8601, local time with offset).
    public var resetsAt: String?
    /// The route the request named, when a budget sent it to another route.
    public var downgradedFrom: String?

    public init(
        _ code: WireErrorCode,
        _ message: String,
        retryable: Bool = false,
        httpStatus: Int? = nil,
        retryAfterMs: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.httpStatus = httpStatus
        self.retryAfterMs = retryAfterMs
    }

    public var description: String {
        var text = "\(self.code.rawValue): \(self.message)"
        if let httpStatus { text += " (HTTP \(httpStatus))" }
        return text
    }
}

/// A client line that could not be turned into a frame. Carries the id when
/// one could be read, so the error frame can name the request it refers to.
public struct FrameDecodingError: Error, Sendable, Hashable {
    public var error: WireError
    public var id: String?

    public init(_ code: WireErrorCode, _ message: String, id: String? = nil) {
        self.error = WireError(code, message)
        self.id = id
    }
}
