import Foundation
import HTTPTypes
import Hummingbird
import LLMuxEngine
import LLMuxWire
import NIOCore

/// `POST /v1/embeddings` in OpenAI's shape, on the same engine as every other request
/// (routes over targets that serve embeddings, fallback, budgets, the ledger): `input` as one
/// text, texts, token ids or lists of them; `encoding_format` `float` or `base64` (little-endian
/// float32, which the openai SDK asks for unless told otherwise); `dimensions` and `user` go
/// to the upstream. The answer is one JSON object; errors have OpenAI's status and body.
struct EmbeddingsHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/v1/embeddings") { request, context in
            await self.embeddings(request, context)
        }
    }

    private func embeddings(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        let embed: ChatRequest
        let base64: Bool
        do {
            let object = try await EngineExchange.requestObject(request, context, hooks: self.hooks)
            _ = try EngineExchange.requiredModel(object)
            switch object["encoding_format"] {
            case nil, .null?, .string("float")?: base64 = false
            case .string("base64")?: base64 = true
            default: throw WireError(.invalidRequest, "'encoding_format' must be \"float\" or \"base64\"")
            }
            do {
                embed = try ChatRequest.decodeEmbed(id: "emb_" + OpenAIHandlers.randomHex(12), object: object)
            } catch {
                throw error.error
            }
        } catch {
            return OpenAIHandlers.error(error as? WireError ?? WireError(.internal, "\(error)"))
        }
        let exchange = EngineExchange.start(embed, origin: EngineExchange.origin(of: request), hooks: self.hooks, channel: context.channel)
        let head = await exchange.head(streaming: false)
        switch head.last {
        case .embeddings(let answer)?:
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.body(answer, base64: base64)))
        case .error(_, let error)?:
            return OpenAIHandlers.error(error)
        default:
            return OpenAIHandlers.error(WireError(.internal, "the embeddings request ended without its answer"))
        }
    }

    /// `{"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}`.
    static func body(_ answer: EmbeddingsFrame, base64: Bool) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("object", "list")
        w.key("data")
        w.beginArray()
        for (index, vector) in answer.vectors.enumerated() {
            w.beginObject()
            w.field("object", "embedding")
            w.field("index", index)
            if base64 {
                w.field("embedding", Float32Base64.encode(vector))
            } else {
                w.key("embedding")
                w.beginArray()
                for component in vector { w.double(component) }
                w.endArray()
            }
            w.endObject()
        }
        w.endArray()
        w.field("model", answer.model)
        w.key("usage")
        w.beginObject()
        let tokens = answer.usage?.inputTokens ?? 0
        w.field("prompt_tokens", tokens)
        w.field("total_tokens", tokens)
        w.endObject()
        w.endObject()
        return w.buffer
    }
}
