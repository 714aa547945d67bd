/// The stable error codes of protocol v1. Clients branch on these strings;
/// they never change meaning. protocol.md lists each one.
///
/// A struct rather than an enum, so that the set can grow: a client built
/// against this version keeps a code a newer daemon sends (`isKnown` is then
/// false) instead of losing it, and `switch`es over codes need a `default`.
public struct WireErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }

    /// Whether this version of llmux defines the code.
    public var isKnown: Bool { Self.known.contains(self) }

    /// The line was not valid JSON (or not a JSON object).
    public static let parseError = WireErrorCode("parse_error")
    /// The JSON was valid but a field is missing, has the wrong type or an invalid value, or `type` is unknown.
    public static let invalidRequest = WireErrorCode("invalid_request")
    /// A `chat` reused the id of a request still in flight on this connection.
    public static let duplicateID = WireErrorCode("duplicate_id")
    /// A line was longer than `limits.max_line_bytes`; it was skipped up to the next newline.
    public static let frameTooLarge = WireErrorCode("frame_too_large")
    /// The client's `hello` offered no protocol version this daemon speaks.
    public static let unsupportedProtocol = WireErrorCode("unsupported_protocol")
    /// The connection already has `limits.max_in_flight` requests running.
    public static let tooManyInflight = WireErrorCode("too_many_inflight")
    /// The daemon already serves `max_connections` connections; this one is closed.
    public static let tooManyConnections = WireErrorCode("too_many_connections")
    /// The model is neither a configured model nor a `provider/model` of a configured provider.
    public static let unknownModel = WireErrorCode("unknown_model")
    /// The model or route serves no request of this kind (an `embed` to a chat-only target).
    public static let unsupportedOperation = WireErrorCode("unsupported_operation")
    /// The connecting process runs as another user; the connection is closed.
    public static let permissionDenied = WireErrorCode("permission_denied")
    /// The provider's credentials could not be read, or the upstream answered 401/403.
    public static let authFailed = WireErrorCode("auth_failed")
    /// The daemon's configuration does not allow this request (for example no default model).
    public static let configError = WireErrorCode("config_error")
    /// The upstream could not be reached (connection refused, DNS, TLS, reset before headers).
    public static let upstreamConnect = WireErrorCode("upstream_connect")
    /// The upstream answered with an HTTP error status.
    public static let upstreamHTTP = WireErrorCode("upstream_http")
    /// The upstream reported an error inside an already started stream.
    public static let upstreamError = WireErrorCode("upstream_error")
    /// A header, first-token, idle or total timeout expired.
    public static let upstreamTimeout = WireErrorCode("upstream_timeout")
    /// The stream ended (or the connection broke) before `[DONE]` or a `finish_reason`.
    public static let upstreamTruncated = WireErrorCode("upstream_truncated")
    /// The upstream sent something that is not a valid stream (bad SSE, bad JSON, oversized event).
    public static let upstreamProtocol = WireErrorCode("upstream_protocol")
    /// Every target of the request is rate limited (in cooldown after a 429 or
    /// Retry-After) beyond the request's deadline. `retry_after_ms` says when to try again.
    public static let rateLimited = WireErrorCode("rate_limited")
    /// Every target of the request has its circuit breaker open after repeated failures.
    public static let circuitOpen = WireErrorCode("circuit_open")
    /// The upstream failed after deltas were delivered; `partial` is true and
    /// the deltas already sent stand. Never looks like a clean end.
    public static let upstreamInterrupted = WireErrorCode("upstream_interrupted")
    /// A `[budgets]` limit would be exceeded; `resets_at` says when it resets.
    public static let budgetExceeded = WireErrorCode("budget_exceeded")
    /// The client read too slowly: its pending frames passed the connection's
    /// bound even with deltas merged, and this stream (the largest) was stopped.
    public static let backpressure = WireErrorCode("backpressure")
    /// The daemon is stopping: it takes no new requests, and requests still
    /// running when its shutdown grace period ends are cut off with this code.
    public static let shuttingDown = WireErrorCode("shutting_down")
    /// A bug in llmux. The message says what happened.
    public static let `internal` = WireErrorCode("internal")

    /// Every code this version defines, in protocol.md's order.
    public static let known: [WireErrorCode] = [
        .parseError,
        .invalidRequest,
        .duplicateID,
        .frameTooLarge,
        .unsupportedProtocol,
        .tooManyInflight,
        .tooManyConnections,
        .unknownModel,
        .unsupportedOperation,
        .permissionDenied,
        .authFailed,
        .configError,
        .upstreamConnect,
        .upstreamHTTP,
        .upstreamError,
        .upstreamTimeout,
        .upstreamTruncated,
        .upstreamProtocol,
        .rateLimited,
        .circuitOpen,
        .upstreamInterrupted,
        .budgetExceeded,
        .backpressure,
        .shuttingDown,
        .`internal`,
    ]
}
