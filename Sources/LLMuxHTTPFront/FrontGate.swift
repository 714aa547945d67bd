import HTTPTypes
import Hummingbird

/// The middleware every HTTP request passes first: it authorizes the caller
/// (same user on the Unix socket, the bearer token on TCP) before anything,
/// unknown paths included, and turns whatever the router could not serve into
/// an answer in the request's dialect (`FrontDialect`): 405 with `Allow` on a
/// known path asked with another method, 404 on an unknown one.
struct FrontGate: RouterMiddleware {
    typealias Context = HTTPFrontContext
    let handlers: OpenAIHandlers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let dialect = FrontDialect(request)
        if let denied = await self.handlers.authorize(request, context, dialect) { return denied }
        let path = request.uri.path
        let allowed = OpenAIHandlers.methods(at: path)
        if !allowed.isEmpty, !allowed.contains(request.method) {
            var headers = HTTPFields()
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return dialect.refusal(
                .methodNotAllowed,
                "\(request.method.rawValue) is not served at \(path); use \(allowed.map(\.rawValue).joined(separator: " or "))",
                code: "method_not_allowed",
                headers: headers
            )
        }
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound {
                return dialect.refusal(
                    .notFound,
                    "llmuxd serves no \(path); its API is POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, POST /v1/completions, POST /v1/fim/completions, POST /infill, POST /v1/embeddings, GET /v1/models, GET /health and GET /metrics",
                    code: "not_found"
                )
            }
            return dialect.refusal(error.status, error.body ?? error.status.reasonPhrase, code: "http_\(error.status.code)")
        }
    }
}
