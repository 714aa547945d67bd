import HTTPTypes
import Hummingbird

/// Which API's shapes a request is answered in: Anthropic's for its paths
/// (`/v1/messages...`) and for any request with an `anthropic-version` header
/// (the anthropic SDK always sends one), OpenAI's otherwise. The front's own
/// refusals (401, 404, 405) and the model list follow it.
enum FrontDialect: Sendable {
    case openAI
    case anthropic

    static let anthropicVersion = HTTPField.Name("anthropic-version")!

    init(_ request: Request) {
        let anthropic = request.uri.path.hasPrefix("/v1/messages") || request.headers[Self.anthropicVersion] != nil
        self = anthropic ? .anthropic : .openAI
    }

    /// A refusal of the front itself; `code` is the OpenAI error code (Anthropic's shape has its type instead).
    func refusal(_ status: HTTPResponse.Status, _ message: String, code: String, headers: HTTPFields = HTTPFields()) -> Response {
        switch self {
        case .openAI: return OpenAIHandlers.httpError(status, message, code: code, headers: headers)
        case .anthropic: return AnthropicErrorBody.response(status, message, headers: headers)
        }
    }
}
