import Foundation
import HTTPTypes
import Hummingbird
import LLMuxEngine
import LLMuxWire
import NIOCore

/// `POST /v1/completions`, OpenAI's legacy completions with `suffix` (fill-in-the-middle, as
/// Continue's autocomplete and minuet send it), on the same engine as every other request:
/// `prompt` is the text before the cursor, `suffix` the text after; `max_tokens`, `stop`,
/// `temperature` and other options go to the upstream. Streamed as `text_completion` chunks
/// (`choices[0].text`) and `[DONE]`, or one `text_completion` object. The header
/// `x-llmux-supersede: KEY` makes a newer request with the same key from the same peer cancel
/// this one at once.
struct CompletionsHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/v1/completions") { request, context in
            await self.completions(request, context)
        }
    }

    private func completions(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        let completionID = "cmpl-" + OpenAIHandlers.randomHex(12)
        let complete: ChatRequest
        let stream: Bool
        let includeUsage: Bool
        do {
            var object = try await EngineExchange.requestObject(request, context, hooks: self.hooks)
            stream = try RequestBodyFields.stream(object)
            includeUsage = object["stream_options"]?["include_usage"]?.boolValue ?? false
            _ = try EngineExchange.requiredModel(object)
            guard case .string(let prompt)? = object["prompt"] else {
                throw WireError(.invalidRequest, "'prompt' must be one string (llmux completes one prompt per request)")
            }
            if let n = object["n"], !n.isNull, n.intValue != 1 { throw WireError(.invalidRequest, "'n' must be 1") }
            object["prefix"] = .string(prompt)
            object["n"] = nil
            do {
                complete = try ChatRequest.decodeComplete(id: completionID, object: object)
            } catch {
                throw error.error
            }
        } catch {
            return OpenAIHandlers.error(error as? WireError ?? WireError(.internal, "\(error)"))
        }
        let (exchange, head) = await Self.start(complete, streaming: stream, request, context, hooks: self.hooks)
        if let error = EngineExchange.errorBeforeOutput(head) { return OpenAIHandlers.error(error) }
        let created = Int(Date().timeIntervalSince1970)
        var encoder = OpenAIChunkEncoder(completionID: completionID, created: created, model: "", includeUsage: includeUsage)
        encoder.textCompletion = true
        if !stream {
            let done: DoneFrame
            switch EngineExchange.finalDone(head) {
            case .success(let final): done = final
            case .failure(let error): return OpenAIHandlers.error(error)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.body(head, done: done, id: completionID, created: created)))
        }
        return exchange.streamBody(first: head, encoder: encoder)
    }

    /// Starts a completion on the engine with the request's `x-llmux-supersede` key, and waits for
    /// the frames before the response head (every fill-in-the-middle route does this).
    static func start(
        _ complete: ChatRequest, streaming: Bool, _ request: Request, _ context: HTTPFrontContext, hooks: HTTPFront.Hooks
    ) async -> (EngineExchange, [ServerFrame]) {
        let supersede = await EngineExchange.supersedeKey(of: request, context, hooks: hooks)
        let exchange = EngineExchange.start(complete, origin: EngineExchange.origin(of: request), hooks: hooks, channel: context.channel, supersede: supersede)
        return (exchange, await exchange.head(streaming: streaming))
    }

    /// One `text_completion`: the text of every delta, the finish reason, the usage.
    static func body(_ frames: [ServerFrame], done: DoneFrame, id: String, created: Int) -> ByteBuffer {
        let text = EngineExchange.deliveredText(frames)
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("id", id)
        w.field("object", "text_completion")
        w.field("created", created)
        w.field("model", done.model)
        w.key("choices")
        w.beginArray()
        w.beginObject()
        w.field("index", 0)
        w.field("text", text)
        w.key("logprobs")
        w.null()
        w.field("finish_reason", done.finishReason == "cancelled" ? "stop" : done.finishReason)
        w.endObject()
        w.endArray()
        w.key("usage")
        OpenAIChunkEncoder.usage(done.usage ?? Usage(inputTokens: 0, outputTokens: 0), into: &w)
        w.endObject()
        return w.buffer
    }
}
