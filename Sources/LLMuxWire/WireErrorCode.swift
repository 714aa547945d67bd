/// The stable error codes of protocol v1. Clients branch on these strings;
/// they never change meaning. protocol.md lists each one.
public enum WireErrorCode: String, Sendable, CaseIterable, Hashable {
    /// The line was not valid JSON (or not a JSON object).
    case parseError = "parse_error"
    /// The JSON was valid but a field is missing, has the wrong type or an invalid value, or `type` is unknown.
    case invalidRequest = "invalid_request"
    /// A `chat` reused the id of a request still in flight on this connection.
    case duplicateID = "duplicate_id"
    /// A line was longer than `limits.max_line_bytes`; it was skipped up to the next newline.
    case frameTooLarge = "frame_too_large"
    /// The client's `hello` offered no protocol version this daemon speaks.
    case unsupportedProtocol = "unsupported_protocol"
    /// The connection already has `limits.max_in_flight` requests running.
    case tooManyInflight = "too_many_inflight"
    /// The daemon already serves `max_connections` connections; this one is closed.
    case tooManyConnections = "too_many_connections"
    /// The model is neither a configured model nor a `provider/model` of a configured provider.
    case unknownModel = "unknown_model"
    /// The connecting process runs as another user; the connection is closed.
    case permissionDenied = "permission_denied"
    /// The provider's credentials could not be read, or the upstream answered 401/403.
    case authFailed = "auth_failed"
    /// The daemon's configuration does not allow this request (for example no default model).
    case configError = "config_error"
    /// The upstream could not be reached (connection refused, DNS, TLS, reset before headers).
    case upstreamConnect = "upstream_connect"
    /// The upstream answered with an HTTP error status.
    case upstreamHTTP = "upstream_http"
    /// The upstream reported an error inside an already started stream.
    case upstreamError = "upstream_error"
    /// A header, first-token, idle or total timeout expired.
    case upstreamTimeout = "upstream_timeout"
    /// The stream ended (or the connection broke) before `[DONE]` or a `finish_reason`.
    case upstreamTruncated = "upstream_truncated"
    /// The upstream sent something that is not a valid stream (bad SSE, bad JSON, oversized event).
    case upstreamProtocol = "upstream_protocol"
    /// Every target of the request is rate limited (in cooldown after a 429 or
    /// Retry-After) beyond the request's deadline. `retry_after_ms` says when to try again.
    case rateLimited = "rate_limited"
    /// Every target of the request has its circuit breaker open after repeated failures.
    case circuitOpen = "circuit_open"
    /// The upstream failed after deltas were delivered; `partial` is true and
    /// the deltas already sent stand. Never looks like a clean end.
    case upstreamInterrupted = "upstream_interrupted"
    /// A `[budgets]` limit would be exceeded; `resets_at` says when it resets.
    case budgetExceeded = "budget_exceeded"
    /// The client read too slowly: its pending frames passed the connection's
    /// bound even with deltas merged, and this stream (the largest) was stopped.
    case backpressure = "backpressure"
    /// The daemon is stopping: it takes no new requests, and requests still
    /// running when its shutdown grace period ends are cut off with this code.
    case shuttingDown = "shutting_down"
    /// A bug in llmux. The message says what happened.
    case `internal` = "internal"
}
