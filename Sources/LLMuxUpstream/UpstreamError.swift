package import LLMuxWire

/// Why an upstream attempt failed. Each case maps to one stable wire code.
package struct UpstreamError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: Sendable, Hashable {
        /// Could not connect, TLS failed, or the connection broke before the response head.
        case connect
        /// A non-2xx response.
        case http(status: Int)
        /// The stream carried an error event.
        case streamError
        /// The stream stopped before `[DONE]` or a finish reason.
        case truncated
        /// The bytes were not a valid stream.
        case protocolViolation
        /// A phase deadline expired.
        case timeout(phase: TimeoutPhase)
        /// No usable credentials.
        case credentials
    }

    package var code: Code
    package var message: String
    package var retryAfterMs: Int?

    package init(_ code: Code, _ message: String, retryAfterMs: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMs = retryAfterMs
    }

    package var description: String { self.message }

    /// Statuses after which another attempt (now or later) may succeed.
    package static let retryableStatuses: Set<Int> = [408, 409, 425, 429, 500, 502, 503, 504, 529]

    /// The error as sent to a client.
    package var wireError: WireError {
        switch self.code {
        case .connect:
            return WireError(.upstreamConnect, self.message, retryable: true)
        case .http(let status):
            if status == 401 || status == 403 {
                return WireError(.authFailed, self.message, retryable: false, httpStatus: status)
            }
            return WireError(
                .upstreamHTTP,
                self.message,
                retryable: Self.retryableStatuses.contains(status),
                httpStatus: status,
                retryAfterMs: self.retryAfterMs
            )
        case .streamError:
            return WireError(.upstreamError, self.message, retryable: true)
        case .truncated:
            return WireError(.upstreamTruncated, self.message, retryable: true)
        case .protocolViolation:
            return WireError(.upstreamProtocol, self.message, retryable: false)
        case .timeout:
            return WireError(.upstreamTimeout, self.message, retryable: true)
        case .credentials:
            return WireError(.authFailed, self.message, retryable: false)
        }
    }
}

/// The phases of a request that each have their own deadline.
package enum TimeoutPhase: String, Sendable, Hashable {
    /// From sending the request to receiving the response head.
    case header
    /// From the response head to the first delta.
    case firstToken = "first_token"
    /// Between two reads of the stream once deltas flow.
    case idle
    /// The whole request.
    case total
}
