import Foundation
import HTTPTypes
import Hummingbird
import LLMuxEngine
import LLMuxWire
import NIOCore

/// The OpenAI Responses endpoint, stateless, on the same engine as every
/// other request: `POST /v1/responses`, streamed or not. The request is
/// translated to the engine's (`ResponsesRequestReader`), so any upstream
/// kind answers it with the route's fallback, budgets and ledger; the answer
/// goes back as Responses events or the final response object
/// (`ResponsesEventEncoder`). Errors before any output get a real status and
/// the OpenAI error body; after output began, `response.failed`.
///
/// `GET /v1/responses` is where Codex tries a WebSocket first: it gets 426 at
/// once, and Codex falls back to HTTP without retrying.
struct ResponsesHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/v1/responses") { request, context in
            await self.responses(request, context)
        }
        router.get("/v1/responses") { _, _ in
            OpenAIHandlers.httpError(
                .upgradeRequired, "llmuxd serves the Responses API over HTTP only: POST /v1/responses (no WebSocket)", code: "websocket_not_supported")
        }
    }

    private func responses(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        if self.hooks.isShuttingDown() {
            return OpenAIHandlers.error(WireError(.shuttingDown, "llmuxd is shutting down and takes no new requests", retryable: true))
        }
        let responseID = "resp_" + OpenAIHandlers.randomHex(12)
        let parsed: ResponsesRequestReader.Parsed
        do {
            parsed = try ResponsesRequestReader.parse(try await EngineExchange.body(of: request, context), id: responseID)
        } catch let failure as ResponsesRequestReader.Failure {
            switch failure {
            case .invalid(let error): return OpenAIHandlers.error(error)
            case .notStored(let refusal): return Self.notFound(refusal)
            }
        } catch {
            return OpenAIHandlers.error(error as? WireError ?? WireError(.internal, "\(error)"))
        }
        let exchange = EngineExchange.start(parsed.request, origin: EngineExchange.origin(of: request), hooks: self.hooks, channel: context.channel)
        let head = await exchange.head(streaming: parsed.stream)
        if let error = EngineExchange.errorBeforeOutput(head) { return OpenAIHandlers.error(error) }
        var encoder = ResponsesEventEncoder(responseID: responseID, createdAt: Int(Date().timeIntervalSince1970), model: "")
        if !parsed.stream {
            guard case .done(let done)? = head.last else {
                // Deltas were produced, then an error: the response is incomplete.
                if case .error(_, let error)? = head.last { return OpenAIHandlers.error(error) }
                return OpenAIHandlers.error(WireError(.internal, "the request ended without a terminal frame"))
            }
            var scratch = ByteBuffer()
            for frame in head { _ = encoder.append(frame, to: &scratch) }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: encoder.response(for: done)))
        }
        return exchange.streamBody(first: head, encoder: encoder)
    }

    /// OpenAI's answer for an id it did not store: 400 `previous_response_not_found`.
    static func notFound(_ refusal: ResponsesRequestReader.NotStored) -> Response {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.field("message", refusal.message)
        w.field("type", "invalid_request_error")
        w.field("param", refusal.param)
        w.field("code", "previous_response_not_found")
        w.endObject()
        w.endObject()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("x-should-retry")!] = "false"
        return Response(status: .badRequest, headers: headers, body: .init(byteBuffer: w.buffer))
    }
}
