import LLMuxWire
import NIOCore

/// Reads a `POST /v1/chat/completions` body into the engine's request.
struct OpenAIChatRequestReader {
    struct Parsed: Sendable {
        var request: ChatRequest
        var stream: Bool
        var includeUsage: Bool
    }

    static func parse(_ body: ByteBuffer, id: String) throws(WireError) -> Parsed {
        var object = try RequestBodyFields.object(body)
        let stream = try RequestBodyFields.stream(object)
        var includeUsage = false
        if let options = object["stream_options"], !options.isNull {
            guard case .object(let fields) = options else { throw WireError(.invalidRequest, "'stream_options' must be an object") }
            includeUsage = fields["include_usage"]?.boolValue ?? false
        }
        // llmux always streams from the upstream and asks for usage itself.
        object["stream"] = nil
        object["stream_options"] = nil
        // Fields the socket protocol reserves for itself are not OpenAI fields (`timeout_ms` is kept: an llmux extension).
        object["type"] = nil
        object["id"] = nil
        do {
            let request = try ChatRequest.decode(id: id, object: object)
            return Parsed(request: request, stream: stream, includeUsage: includeUsage)
        } catch {
            throw error.error
        }
    }
}
