import Foundation
import HTTPTypes
import Hummingbird
import LLMuxEngine
import LLMuxWire
import NIOCore

/// `POST /v1/fim/completions`, Mistral's fill-in-the-middle shape (`prompt`, `suffix`,
/// `max_tokens`, `min_tokens`, `stop`, ...), answered in the chat shape Mistral uses:
/// `chat.completion.chunk` events with `delta.content`, or one `chat.completion`. Same engine,
/// same `x-llmux-supersede`, as `POST /v1/completions`.
struct MistralFIMHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/v1/fim/completions") { request, context in
            await self.fim(request, context)
        }
    }

    private func fim(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        if self.hooks.isShuttingDown() {
            return OpenAIHandlers.error(WireError(.shuttingDown, "llmuxd is shutting down and takes no new requests", retryable: true))
        }
        let completionID = "fim-" + OpenAIHandlers.randomHex(12)
        let complete: ChatRequest
        let stream: Bool
        do {
            var object = try RequestBodyFields.object(try await EngineExchange.body(of: request, context))
            stream = try RequestBodyFields.stream(object)
            guard case .string(let model)? = object["model"], !model.isEmpty else {
                throw WireError(.invalidRequest, "'model' is required and must be a non-empty string")
            }
            guard case .string(let prompt)? = object["prompt"] else { throw WireError(.invalidRequest, "'prompt' is required and must be a string") }
            object["prefix"] = .string(prompt)
            do {
                complete = try ChatRequest.decodeComplete(id: completionID, object: object)
            } catch {
                throw error.error
            }
        } catch {
            return OpenAIHandlers.error(error as? WireError ?? WireError(.internal, "\(error)"))
        }
        let (exchange, head) = await CompletionsHandlers.start(complete, streaming: stream, request, context, hooks: self.hooks)
        if let error = EngineExchange.errorBeforeOutput(head) { return OpenAIHandlers.error(error) }
        var assembler = OpenAICompletionAssembler()
        for frame in head { assembler.add(frame) }
        let created = Int(Date().timeIntervalSince1970)
        if !stream {
            guard case .done(let done)? = head.last else {
                if case .error(_, let error)? = head.last { return OpenAIHandlers.error(error) }
                return OpenAIHandlers.error(WireError(.internal, "the request ended without a terminal frame"))
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: assembler.body(for: done, completionID: completionID, created: created)))
        }
        return exchange.streamBody(
            first: head, encoder: OpenAIChunkEncoder(completionID: completionID, created: created, model: assembler.model, includeUsage: true))
    }
}
