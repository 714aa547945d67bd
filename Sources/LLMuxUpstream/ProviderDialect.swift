package import LLMuxConfig
package import LLMuxWire
import NIOCore

/// What differs between providers' HTTP APIs: the request (path, auth headers, body shape), the
/// interpreter of the answer's event stream, and what a 2xx answer that is not a stream may be.
/// The reading loop, error answers, timeouts and cancellation are shared (`UpstreamChatClient`).
package protocol ProviderDialect: Sendable {
    /// The request for `upstreamModel`, with its URL, auth header and body; the headers every
    /// dialect sends (content type, accept, user agent, the provider's own) are added after.
    func httpRequest(_ request: ChatRequest, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?) -> UpstreamHTTPRequest

    /// A fresh interpreter for one answer's events.
    func makeInterpreter() -> any StreamInterpreter

    /// The interpreter for `request`'s answer, where it differs by request (llama.cpp's `/infill`).
    func makeInterpreter(for request: ChatRequest, provider: ProviderConfig) -> any StreamInterpreter

    /// Whether a 2xx `application/json` answer is a whole completion this dialect reads as one
    /// event (servers that ignore `stream: true`); otherwise such an answer is a protocol error.
    var readsWholeJSONAnswer: Bool { get }

    /// Whether `request` goes to this dialect's upstreams as its client wrote it (its
    /// `NativeRequest` is in this dialect), so the answer's events pass back as they come.
    func passesThrough(_ request: ChatRequest) -> Bool

    /// The streamed fill-in-the-middle request for `input` (read by `makeInterpreter()`'s
    /// interpreter), or `nil` when the API has none.
    func completionRequest(_ request: ChatRequest, input: CompletionInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?)
        -> UpstreamHTTPRequest?

    /// The embeddings request for `input`, or `nil` when the API has none.
    func embeddingsRequest(_ request: ChatRequest, input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?)
        -> UpstreamHTTPRequest?
}

extension ProviderDialect {
    package func passesThrough(_ request: ChatRequest) -> Bool { false }

    package func makeInterpreter(for request: ChatRequest, provider: ProviderConfig) -> any StreamInterpreter { self.makeInterpreter() }

    package func embeddingsRequest(
        _ request: ChatRequest, input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? { nil }

    package func completionRequest(
        _ request: ChatRequest, input: CompletionInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? { nil }
}

extension ProviderConfig.Kind {
    /// What providers of this kind serve: Anthropic's API has no embeddings.
    package var capabilities: Set<ChatRequest.Capability> {
        switch self {
        case .anthropic: return [.chat]
        // OpenAI's Responses API has no fill-in-the-middle; its provider's /embeddings serves.
        case .openaiResponses: return [.chat, .embeddings]
        case .openai, .azure: return [.chat, .embeddings, .completion]
        }
    }
}

extension ChatRequest {
    /// An OpenAI embeddings body: the client's options (`dimensions`, `user`, ...), then the
    /// model, the input and `encoding_format: "float"` (llmux encodes base64 itself).
    func embeddingsBody(_ input: EmbeddingsInput, upstreamModel: String) -> ByteBuffer {
        var body = self.options
        body["model"] = .string(upstreamModel)
        body["input"] = input.value
        body["encoding_format"] = "float"
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }

    /// An OpenAI `/completions` body with `suffix`: the client's options (`max_tokens`, `stop`,
    /// `temperature`, ...), then the model, the prompt (context files, then the prefix), the
    /// suffix, and streaming, with usage asked for when `includeUsage` (Mistral's FIM API refuses
    /// `stream_options`, a field it does not know, and sends the usage anyway).
    func completionBody(_ input: CompletionInput, upstreamModel: String, includeUsage: Bool = true) -> ByteBuffer {
        var body = self.options
        body["model"] = .string(upstreamModel)
        body["prompt"] = .string(input.prompt)
        if let suffix = input.suffix { body["suffix"] = .string(suffix) }
        body["stream"] = true
        if includeUsage { body["stream_options"] = ["include_usage": true] }
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }
}

extension UpstreamHTTPRequest {
    /// A request to `url` with `body` and, when there is a key, `Authorization: Bearer`: how
    /// OpenAI-compatible servers (and OpenAI's Responses API) take every call.
    static func bearer(_ url: String, apiKey: Secret?, body: ByteBuffer) -> UpstreamHTTPRequest {
        var http = UpstreamHTTPRequest(url: url)
        if let apiKey { http.headers.add(name: "authorization", value: "Bearer \(apiKey.reveal())") }
        http.body = body
        return http
    }

    /// `POST {base}/embeddings` for `request`, the OpenAI-compatible way.
    static func bearerEmbeddings(_ request: ChatRequest, _ input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?)
        -> UpstreamHTTPRequest
    {
        .bearer(
            UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/embeddings"), apiKey: apiKey,
            body: request.embeddingsBody(input, upstreamModel: upstreamModel))
    }
}

extension NativeRequest {
    /// The client's body for `upstreamModel`: only `model` is replaced, and `stream` set (llmux
    /// always streams from upstreams; the front assembles a whole answer when one was asked for).
    func body(upstreamModel: String) -> ByteBuffer {
        var body = self.body
        body["model"] = .string(upstreamModel)
        body["stream"] = true
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(.object(body))
        return writer.buffer
    }
}

extension ProviderConfig.Kind {
    /// The dialect providers of this kind speak.
    package var dialect: any ProviderDialect {
        switch self {
        case .openai: OpenAIDialect()
        case .azure: AzureOpenAIDialect()
        case .anthropic: AnthropicDialect()
        case .openaiResponses: OpenAIResponsesDialect()
        }
    }
}

/// OpenAI-compatible `POST {base}/chat/completions`, `Authorization: Bearer`.
package struct OpenAIDialect: ProviderDialect {
    package init() {}

    package func httpRequest(_ request: ChatRequest, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?) -> UpstreamHTTPRequest {
        .bearer(
            UpstreamChatClient.chatCompletionsURL(baseURL: provider.baseURL), apiKey: apiKey,
            body: UpstreamChatClient.requestBody(for: request, upstreamModel: upstreamModel))
    }

    package func makeInterpreter() -> any StreamInterpreter { OpenAIStreamInterpreter() }

    package var readsWholeJSONAnswer: Bool { true }

    package func embeddingsRequest(
        _ request: ChatRequest, input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? {
        .bearerEmbeddings(request, input, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
    }

    /// By the provider's `fim_api`: `POST {base}/completions` with `suffix` (DeepSeek's beta
    /// base, vLLM, ollama, Together, ...), Mistral's `{base}/fim/completions`, or llama.cpp's
    /// `/infill`.
    package func completionRequest(
        _ request: ChatRequest, input: CompletionInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? {
        switch provider.fimAPI {
        case .completions:
            return .bearer(
                UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/completions"), apiKey: apiKey,
                body: request.completionBody(input, upstreamModel: upstreamModel))
        case .mistral:
            return .bearer(
                UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/fim/completions"), apiKey: apiKey,
                body: request.completionBody(input, upstreamModel: upstreamModel, includeUsage: false))
        case .infill:
            return .bearer(LlamaInfill.url(baseURL: provider.baseURL), apiKey: apiKey, body: LlamaInfill.body(request, input, upstreamModel: upstreamModel))
        }
    }

    package func makeInterpreter(for request: ChatRequest, provider: ProviderConfig) -> any StreamInterpreter {
        if case .completion = request.operation, provider.fimAPI == .infill { return LlamaInfill.Interpreter() }
        return OpenAIStreamInterpreter()
    }
}

/// Azure OpenAI: `{base}/openai/deployments/{deployment}/chat/completions?api-version=...`,
/// `api-key` header; the OpenAI body and stream.
package struct AzureOpenAIDialect: ProviderDialect {
    package init() {}

    package func httpRequest(_ request: ChatRequest, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?) -> UpstreamHTTPRequest {
        Self.request(
            "chat/completions", provider: provider, upstreamModel: upstreamModel, apiKey: apiKey,
            body: UpstreamChatClient.requestBody(for: request, upstreamModel: upstreamModel))
    }

    package func embeddingsRequest(
        _ request: ChatRequest, input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? {
        Self.request(
            "embeddings", provider: provider, upstreamModel: upstreamModel, apiKey: apiKey, body: request.embeddingsBody(input, upstreamModel: upstreamModel))
    }

    package func completionRequest(
        _ request: ChatRequest, input: CompletionInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? {
        Self.request(
            "completions", provider: provider, upstreamModel: upstreamModel, apiKey: apiKey, body: request.completionBody(input, upstreamModel: upstreamModel))
    }

    /// `{base}/openai/deployments/{deployment}/{operation}?api-version=...` with the `api-key`
    /// header and `body`; the deployment is the provider's, else the model name.
    private static func request(_ operation: String, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?, body: ByteBuffer) -> UpstreamHTTPRequest
    {
        let deployment = provider.deployment ?? upstreamModel
        let url =
            UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/openai/deployments/\(UpstreamChatClient.pathSegment(deployment))/\(operation)")
            + "?api-version=" + UpstreamChatClient.queryValue(provider.apiVersion ?? ProviderConfig.defaultAzureAPIVersion)
        var http = UpstreamHTTPRequest(url: url)
        if let apiKey { http.headers.add(name: "api-key", value: apiKey.reveal()) }
        http.body = body
        return http
    }

    package func makeInterpreter() -> any StreamInterpreter { OpenAIStreamInterpreter() }

    package var readsWholeJSONAnswer: Bool { true }
}

/// Anthropic Messages: `POST {base}/messages`, `x-api-key` and `anthropic-version`; the body
/// translated from the OpenAI shape, the stream read by `AnthropicStreamInterpreter`.
package struct AnthropicDialect: ProviderDialect {
    package init() {}

    package func httpRequest(_ request: ChatRequest, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?) -> UpstreamHTTPRequest {
        var http = UpstreamHTTPRequest(url: UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/messages"))
        if let apiKey { http.headers.add(name: "x-api-key", value: apiKey.reveal()) }
        if let native = request.native, self.passesThrough(request) {
            // The client's version and betas: its body was written for them.
            http.headers.add(name: "anthropic-version", value: native.headers["anthropic-version"] ?? AnthropicRequestBuilder.apiVersion)
            if let beta = native.headers["anthropic-beta"] { http.headers.add(name: "anthropic-beta", value: beta) }
            http.body = native.body(upstreamModel: upstreamModel)
            return http
        }
        http.headers.add(name: "anthropic-version", value: AnthropicRequestBuilder.apiVersion)
        http.body = AnthropicRequestBuilder.body(for: request, upstreamModel: upstreamModel)
        return http
    }

    package func passesThrough(_ request: ChatRequest) -> Bool { request.native?.dialect == .anthropicMessages }

    package func makeInterpreter() -> any StreamInterpreter { AnthropicStreamInterpreter() }

    /// A whole Anthropic `message` is not read (no server is known to send one for a streamed request).
    package var readsWholeJSONAnswer: Bool { false }
}

/// OpenAI Responses: `POST {base}/responses`, `Authorization: Bearer`, stateless; the body
/// translated from the chat shape (`ResponsesRequestBuilder`), the stream read by
/// `ResponsesStreamInterpreter`.
package struct OpenAIResponsesDialect: ProviderDialect {
    package init() {}

    package func httpRequest(_ request: ChatRequest, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?) -> UpstreamHTTPRequest {
        let body =
            if let native = request.native, self.passesThrough(request) {
                native.body(upstreamModel: upstreamModel)
            } else {
                ResponsesRequestBuilder.body(for: request, upstreamModel: upstreamModel)
            }
        return .bearer(UpstreamChatClient.endpoint(baseURL: provider.baseURL, path: "/responses"), apiKey: apiKey, body: body)
    }

    package func passesThrough(_ request: ChatRequest) -> Bool { request.native?.dialect == .openAIResponses }

    /// The Responses API's providers (OpenAI) serve embeddings at the same base URL.
    package func embeddingsRequest(
        _ request: ChatRequest, input: EmbeddingsInput, provider: ProviderConfig, upstreamModel: String, apiKey: Secret?
    ) -> UpstreamHTTPRequest? {
        .bearerEmbeddings(request, input, provider: provider, upstreamModel: upstreamModel, apiKey: apiKey)
    }

    package func makeInterpreter() -> any StreamInterpreter { ResponsesStreamInterpreter() }

    /// A whole response object (from a server that ignores `stream`) is read as its stream would be.
    package var readsWholeJSONAnswer: Bool { true }
}
