import HTTPTypes
import Hummingbird
import LLMuxWire
import NIOCore

/// llmux errors in Anthropic's shape, `{"type":"error","error":{"type","message"},"request_id"}`,
/// with the status the anthropic SDK maps to its error classes (529 is
/// `OverloadedError`) and the `x-should-retry` and `retry-after` headers it acts on.
enum AnthropicErrorBody {
    /// The status for an error that happened before any output. An upstream's 529 (overloaded)
    /// stays a 529; a body over the size limit is a 413; the rest as the OpenAI front answers.
    static func status(of error: WireError) -> HTTPResponse.Status {
        if error.code == .upstreamHTTP, error.httpStatus == 529 { return HTTPResponse.Status(code: 529) }
        if error.code == .frameTooLarge { return .contentTooLarge }
        return OpenAIErrorBody.status(of: error)
    }

    /// Anthropic's error type for a status.
    static func type(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        case 500...: return "api_error"
        default: return "invalid_request_error"
        }
    }

    /// The error object (`{"type":"error","error":{...}}`), as a response body or an `error` event's data.
    static func write(type: String, message: String, requestID: String?, into w: inout JSONWriter) {
        w.beginObject()
        w.field("type", "error")
        w.key("error")
        w.beginObject()
        w.field("type", type)
        w.field("message", message)
        w.endObject()
        if let requestID { w.field("request_id", requestID) }
        w.endObject()
    }

    /// The answer to an engine error before any output.
    static func response(_ error: WireError, requestID: String?) -> Response {
        let status = Self.status(of: error)
        var headers = HTTPFields()
        if !error.retryable { headers[HTTPField.Name("x-should-retry")!] = "false" }
        if let retryAfter = error.retryAfterMs {
            headers[.retryAfter] = String((retryAfter + 999) / 1000)
            headers[HTTPField.Name("retry-after-ms")!] = String(retryAfter)
        }
        return Self.response(status, error.message, requestID: requestID, headers: headers)
    }

    /// An answer in Anthropic's error shape (the front's own refusals too: 401, 404, 405).
    static func response(_ status: HTTPResponse.Status, _ message: String, requestID: String? = nil, headers: HTTPFields = HTTPFields()) -> Response {
        var w = JSONWriter(buffer: ByteBuffer())
        Self.write(type: Self.type(for: status), message: message, requestID: requestID, into: &w)
        var headers = headers
        headers[.contentType] = "application/json"
        if let requestID { headers[HTTPField.Name("request-id")!] = requestID }
        return Response(status: status, headers: headers, body: .init(byteBuffer: w.buffer))
    }
}
