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
        let value: JSONValue
        do {
            value = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw WireError(.invalidRequest, "the request body is not valid JSON")
        }
        guard case .object(var object) = value else {
            throw WireError(.invalidRequest, "the request body must be a JSON object")
        }
        var stream = false
        switch object["stream"] {
        case nil, .null?: stream = false
        case .bool(let flag)?: stream = flag
        default: throw WireError(.invalidRequest, "'stream' must be true or false")
        }
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
