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
        let completionID = "fim-" + OpenAIHandlers.randomHex(12)
        let complete: ChatRequest
        let stream: Bool
        do {
            var object = try await EngineExchange.requestObject(request, context, hooks: self.hooks)
            stream = try RequestBodyFields.stream(object)
            _ = try EngineExchange.requiredModel(object)
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
            let done: DoneFrame
            switch EngineExchange.finalDone(head) {
            case .success(let final): done = final
            case .failure(let error): return OpenAIHandlers.error(error)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: assembler.body(for: done, completionID: completionID, created: created)))
        }
        return exchange.streamBody(
            first: head, encoder: OpenAIChunkEncoder(completionID: completionID, created: created, model: assembler.model, includeUsage: true))
    }
}
