package import LLMuxWire
package import NIOCore

/// llama.cpp's `POST /infill` as an upstream: the request body (`input_prefix`, `input_suffix`,
/// `input_extra`, `n_predict`, `cache_prompt`, streamed) and the interpreter of its stream,
/// `data: {"content":"...","stop":false}` events and a last one with `stop: true`, `stop_type`
/// and the token counts.
package enum LlamaInfill {
    /// `/infill` at the server's root: a base URL ending in `/v1` (for its OpenAI-compatible
    /// routes) loses it.
    package static func url(baseURL: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return base + "/infill"
    }

    /// The client's options in llama.cpp's names (`max_tokens` as `n_predict`), the model (a
    /// router-mode llama-server picks by it; one serving one model ignores it), the prefix, the
    /// suffix, the context files, and `cache_prompt` on unless the client said otherwise.
    package static func body(_ request: ChatRequest, _ input: CompletionInput, upstreamModel: String) -> ByteBuffer {
        var body = request.options
        body["model"] = .string(upstreamModel)
        if let maxTokens = body.removeValue(forKey: "max_tokens"), body["n_predict"] == nil { body["n_predict"] = maxTokens }
        body["input_prefix"] = .string(input.prefix)
        body["input_suffix"] = .string(input.suffix ?? "")
        if !input.extra.isEmpty {
            body["input_extra"] = .array(input.extra.map { ["filename": .string($0.filename), "text": .string($0.text)] })
        }
        if body["prompt"] == nil { body["prompt"] = "" }
        if body["cache_prompt"] == nil { body["cache_prompt"] = true }
        body["stream"] = true
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }

    /// `content` as text; the event with `stop: true` as the usage (`tokens_evaluated`,
    /// `tokens_predicted`) and the finish (`limit` is `length`, `eos` and `word` are `stop`).
    package struct Interpreter: StreamInterpreter {
        package init() {}

        package mutating func interpret(_ event: SSEEvent) throws(StreamInterpreterFailure) -> [UpstreamEvent] {
            guard let value = try? JSONValue.parse(event.data), case .object = value else {
                throw .invalidJSON(OpenAIStreamInterpreter.preview(event.data))
            }
            if let error = value["error"] {
                return [.error(message: error["message"]?.stringValue ?? error.stringValue ?? "unspecified error")]
            }
            var events: [UpstreamEvent] = []
            if case .string(let text)? = value["content"], !text.isEmpty { events.append(.delta(text: text, reasoning: nil, toolCalls: [])) }
            if value["stop"]?.boolValue == true {
                events.append(
                    .usage(
                        Usage.fromUpstream(
                            input: value["tokens_evaluated"]?.intValue.map(Int.init), output: value["tokens_predicted"]?.intValue.map(Int.init))))
                events.append(.finish(reason: value["stop_type"]?.stringValue == "limit" ? "length" : "stop"))
            }
            return events
        }
    }
}
