import Foundation
import HTTPTypes
import Hummingbird
import LLMuxCost
import LLMuxEngine
import LLMuxWire
import NIOCore

/// The Anthropic Messages endpoints, on the same engine as every other
/// request: `POST /v1/messages` (streamed or not; `?beta=true`, which Claude
/// Code appends, changes nothing), `POST /v1/messages/count_tokens`, and the
/// model list in Anthropic's shape (`OpenAIHandlers` serves `/v1/models` and
/// asks `models` here when the request carries `anthropic-version`).
///
/// The request is translated to the engine's OpenAI-shaped request
/// (`AnthropicMessagesReader`), so any upstream kind can answer it, with the
/// route's fallback, budgets and ledger; the answer is written back as
/// Anthropic events (`AnthropicEventEncoder`) or one message
/// (`AnthropicMessageAssembler`). An error before any output gets a real
/// status and Anthropic's error body; after output began, an `error` event.
struct AnthropicHandlers: Sendable {
    let hooks: HTTPFront.Hooks

    func register(on router: Router<HTTPFrontContext>) {
        router.post("/v1/messages") { request, context in
            await self.messages(request, context)
        }
        router.post("/v1/messages/count_tokens") { request, context in
            await self.countTokens(request, context)
        }
    }

    private func messages(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        let messageID = "msg_llmux_" + OpenAIHandlers.randomHex(12)
        if self.hooks.isShuttingDown() {
            return AnthropicErrorBody.response(
                WireError(.shuttingDown, "llmuxd is shutting down and takes no new requests", retryable: true), requestID: messageID)
        }
        let parsed: AnthropicMessagesReader.Parsed
        do {
            parsed = try AnthropicMessagesReader.parse(
                try await EngineExchange.body(of: request, context), id: messageID, headers: Self.dialectHeaders(of: request))
        } catch {
            return AnthropicErrorBody.response(error, requestID: messageID)
        }
        let exchange = EngineExchange.start(parsed.request, origin: EngineExchange.origin(of: request), hooks: self.hooks, channel: context.channel)
        let head = await exchange.head(streaming: parsed.stream)
        if let error = EngineExchange.errorBeforeOutput(head) { return AnthropicErrorBody.response(error, requestID: messageID) }
        var assembler = AnthropicMessageAssembler()
        for frame in head { assembler.add(frame) }
        if !parsed.stream {
            guard case .done(let done)? = head.last else {
                // Deltas were produced, then an error: the message is incomplete.
                if case .error(_, let error)? = head.last { return AnthropicErrorBody.response(error, requestID: messageID) }
                return AnthropicErrorBody.response(WireError(.internal, "the request ended without a terminal frame"), requestID: messageID)
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("request-id")!] = messageID
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: assembler.body(for: done, messageID: messageID)))
        }
        var response = exchange.streamBody(first: head, encoder: AnthropicEventEncoder(messageID: messageID, model: assembler.model))
        response.headers[HTTPField.Name("request-id")!] = messageID
        return response
    }

    /// The client's `anthropic-version` and `anthropic-beta`, which an Anthropic upstream gets
    /// with the body they were written for.
    static func dialectHeaders(of request: Request) -> [String: String] {
        var headers: [String: String] = [:]
        for name in ["anthropic-version", "anthropic-beta"] {
            let values = request.headers[values: HTTPField.Name(name)!]
            if !values.isEmpty { headers[name] = values.joined(separator: ",") }
        }
        return headers
    }

    /// `{"input_tokens": N}`: llmux's estimate of the prompt (about four bytes of its JSON per
    /// token), not the provider's tokenizer; Claude Code uses it only to decide when to compact.
    private func countTokens(_ request: Request, _ context: HTTPFrontContext) async -> Response {
        let parsed: AnthropicMessagesReader.Parsed
        do {
            // The endpoint takes no `max_tokens`.
            parsed = try AnthropicMessagesReader.parse(try await EngineExchange.body(of: request, context), id: "count_tokens", maxTokensRequired: false)
        } catch {
            return AnthropicErrorBody.response(error, requestID: nil)
        }
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.field("input_tokens", CostCalculator.estimatedPromptTokens(parsed.request))
        w.endObject()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: w.buffer))
    }

    /// `GET /v1/models` in Anthropic's shape: one page with everything (`has_more` false, or the
    /// SDK keeps paging).
    static func models(_ models: [ModelInfo]) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        w.beginObject()
        w.key("data")
        w.beginArray()
        for model in models { Self.write(model, into: &w) }
        w.endArray()
        w.field("has_more", false)
        w.field("first_id", models.first?.id)
        w.field("last_id", models.last?.id)
        w.endObject()
        return w.buffer
    }

    /// One model in Anthropic's shape.
    static func model(_ model: ModelInfo) -> ByteBuffer {
        var w = JSONWriter(buffer: ByteBuffer())
        Self.write(model, into: &w)
        return w.buffer
    }

    private static func write(_ model: ModelInfo, into w: inout JSONWriter) {
        w.beginObject()
        w.field("type", "model")
        w.field("id", model.id)
        w.field("display_name", model.route == nil ? "\(model.id) (\(model.provider)/\(model.upstreamModel))" : "\(model.id) (llmux route)")
        w.field("created_at", "1970-01-01T00:00:00Z")
        w.endObject()
    }
}
