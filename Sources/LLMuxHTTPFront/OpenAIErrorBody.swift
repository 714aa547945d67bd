import HTTPTypes
import LLMuxWire
import NIOCore

/// llmux errors in the OpenAI error shape, with the HTTP status, `retry-after`
/// and `x-should-retry` an OpenAI SDK acts on.
enum OpenAIErrorBody {
    /// `{"message","type","param","code"}` (the value of the `error` key).
    static func write(_ error: WireError, into w: inout JSONWriter) {
        Self.write(message: error.message, type: Self.type(of: error), code: error.code.rawValue, upstreamStatus: error.httpStatus, into: &w)
    }

    /// The error object's fields, for an engine error or a refusal of the front itself
    /// (`not_found`, `method_not_allowed`, `invalid_api_key`, which are not wire codes).
    static func write(message: String, type: String, code: String, upstreamStatus: Int? = nil, into w: inout JSONWriter) {
        w.beginObject()
        w.field("message", message)
        w.field("type", type)
        w.key("param")
        w.null()
        w.field("code", code)
        if let upstreamStatus { w.field("upstream_status", upstreamStatus) }
        w.endObject()
    }

    static func type(of error: WireError) -> String {
        switch error.code {
        case .invalidRequest, .parseError, .unknownModel, .configError, .frameTooLarge, .duplicateID, .unsupportedProtocol:
            return "invalid_request_error"
        case .permissionDenied:
            return "permission_error"
        case .rateLimited, .tooManyInflight, .tooManyConnections:
            return "rate_limit_error"
        case .budgetExceeded:
            return "insufficient_quota"
        case .authFailed:
            return "upstream_authentication_error"
        default:
            return "server_error"
        }
    }

    /// The status for an error that happened before any output.
    static func status(of error: WireError) -> HTTPResponse.Status {
        switch error.code {
        case .invalidRequest, .parseError, .configError, .frameTooLarge, .duplicateID, .unsupportedProtocol, .unsupportedOperation:
            return .badRequest
        case .unknownModel:
            return .notFound
        case .permissionDenied:
            return .forbidden
        case .rateLimited, .tooManyInflight, .budgetExceeded, .tooManyConnections:
            // OpenAI answers an exhausted quota with 429 `insufficient_quota` (not retried: x-should-retry false).
            return .tooManyRequests
        case .circuitOpen, .shuttingDown:
            return .serviceUnavailable
        case .upstreamTimeout:
            return .gatewayTimeout
        case .upstreamHTTP:
            // Client errors and rate limits pass through; upstream server errors are a bad gateway.
            if let status = error.httpStatus, (400..<500).contains(status), status != 401, status != 403 {
                return HTTPResponse.Status(code: status)
            }
            return .badGateway
        case .authFailed, .upstreamConnect, .upstreamError, .upstreamTruncated, .upstreamProtocol, .upstreamInterrupted, .backpressure:
            // The upstream rejected llmux's key: the caller's own credentials were fine.
            return .badGateway
        default:
            // `internal`, and nothing else this version defines (a test checks every known code).
            return .internalServerError
        }
    }

    static func response(_ error: WireError) -> (HTTPResponse.Status, HTTPFields, ByteBuffer) {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.key("error")
        Self.write(error, into: &w)
        w.endObject()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if !error.retryable { headers[HTTPField.Name("x-should-retry")!] = "false" }
        if let retryAfter = error.retryAfterMs {
            headers[.retryAfter] = String((retryAfter + 999) / 1000)
            headers[HTTPField.Name("retry-after-ms")!] = String(retryAfter)
        }
        return (Self.status(of: error), headers, w.buffer)
    }
}
