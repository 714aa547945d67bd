import Foundation
import HTTPTypes
import Hummingbird
import LLMuxEngine
import LLMuxWire
import NIOCore

/// `POST /infill`, llama.cpp's fill-in-the-middle endpoint as llama.vim calls it:
/// `input_prefix`, `input_suffix`, `input_extra` (`{filename, text}` chunks), `prompt` (the text
/// typed on the cursor's line, joined to the prefix), `n_predict` as `max_tokens`, `stream`
/// (default false), and llama.cpp's own options (`t_max_predict_ms`, `cache_prompt`, ...)
/// passed on. The model is `model` when given, else the configured default. The answer is
/// llama.cpp's: `{"content","stop":true,"stop_type","tokens_predicted","tokens_evaluated",
/// "truncated","timings"}`, or, streamed, `data: {"content","stop":false}` events and that last
/// one. `n_predict: 0` (llama.vim's warm-up) is answered at once with nothing, asking no upstream.
struct InfillHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/infill") { request, context in
            await self.infill(request, context)
        }
    }

    private func infill(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        let complete: ChatRequest
        let stream: Bool
        do {
            var object = try await EngineExchange.requestObject(request, context, hooks: self.hooks)
            stream = object["stream"]?.boolValue ?? false
            guard let prefix = object["input_prefix"]?.stringValue ?? (object["input_prefix"] == nil ? "" : nil) else {
                throw WireError(.invalidRequest, "'input_prefix' must be a string")
            }
            if let prompt = object["prompt"], prompt.stringValue == nil, !prompt.isNull {
                throw WireError(.invalidRequest, "'prompt' must be a string")
            }
            if object["n_predict"]?.intValue == 0 { return Self.answer(text: "", usage: nil, stopType: "limit") }
            object["prefix"] = .string(prefix + (object["prompt"]?.stringValue ?? ""))
            if let suffix = object.removeValue(forKey: "input_suffix") { object["suffix"] = suffix }
            if let extra = object.removeValue(forKey: "input_extra") { object["extra"] = extra }
            if let predict = object.removeValue(forKey: "n_predict"), (predict.intValue ?? -1) > 0 { object["max_tokens"] = predict }
            for key in ["input_prefix", "stream"] { object[key] = nil }
            do {
                complete = try ChatRequest.decodeComplete(id: "infill-" + OpenAIHandlers.randomHex(12), object: object)
            } catch {
                throw error.error
            }
        } catch {
            return OpenAIHandlers.error(error as? WireError ?? WireError(.internal, "\(error)"))
        }
        let (exchange, head) = await CompletionsHandlers.start(complete, streaming: stream, request, context, hooks: self.hooks)
        if let error = EngineExchange.errorBeforeOutput(head) { return OpenAIHandlers.error(error) }
        if !stream {
            let done: DoneFrame
            switch EngineExchange.finalDone(head) {
            case .success(let final): done = final
            case .failure(let error): return OpenAIHandlers.error(error)
            }
            return Self.answer(
                text: EngineExchange.deliveredText(head), usage: done.usage, stopType: InfillEventEncoder.stopType(done.finishReason),
                totalMs: done.timing.totalMs)
        }
        return exchange.streamBody(first: head, encoder: InfillEventEncoder())
    }

    static func answer(text: String, usage: Usage?, stopType: String, totalMs: Int = 0) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: InfillEventEncoder.last(text: text, usage: usage, stopType: stopType, totalMs: totalMs)))
    }
}
