/// One upstream provider, as configured.
package struct ProviderConfig: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Any OpenAI-compatible chat-completions endpoint.
        case openai
        /// Anthropic's Messages API (`/v1/messages`, `x-api-key`).
        case anthropic
        /// Azure OpenAI: `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=...`, `api-key` header.
        case azure
        /// OpenAI's Responses API (`{base_url}/responses`, stateless).
        case openaiResponses = "openai-responses"
    }

    /// Where the provider's API key comes from.
    package enum KeySource: Sendable, Hashable {
        /// No key: local servers such as llama.cpp, vLLM or ollama.
        case none
        /// An environment variable of the daemon.
        case environment(String)
        /// A file whose contents (trimmed) are the key. Read at every request, so rotation needs no restart.
        case file(String)
        /// An argv array run without a shell; its trimmed stdout is the key.
        case command([String])
        /// `api_key = "..."` in the config file itself (which must then be private to its owner).
        case inline(Secret)
    }

    /// The name used in `provider/model` and in frames.
    package var name: String
    package var kind: Kind
    /// For example `https://api.openai.com/v1`; `/chat/completions` is appended.
    package var baseURL: String
    package var keySource: KeySource
    /// Forces HTTP/1.1 (async-http-client's HTTP/2 has open GOAWAY/RST_STREAM bugs).
    package var http1Only: Bool
    /// A built-in provider for demonstrations (the bundled mock upstream).
    package var isDemo: Bool
    /// Time limits for this provider's requests, over the global `[timeouts]`.
    package var timeouts: TimeoutOverrides = TimeoutOverrides()
    /// Most requests sent to this provider at once; more wait in its queue. `nil`: no limit.
    package var maxInflight: Int?
    /// Extra request headers (for example OpenRouter's `HTTP-Referer` and `X-Title`).
    package var headers: [String: String] = [:]
    /// Extra query items appended to the endpoint URL.
    package var query: [String: String] = [:]
    /// Azure: the deployment; `nil` uses the requested model name as the deployment.
    package var deployment: String?
    /// Azure: the `api-version` query item.
    package var apiVersion: String?
    /// `kind = "openai"`: which API serves fill-in-the-middle completions.
    package var fimAPI: FIMAPI = .completions
    /// Which proxy its connections go through (`proxy` in the config).
    package var proxy: ProxySetting = .environment

    /// `proxy = "http://host:port"`, `proxy = ""` (direct), or no `proxy` (the environment's).
    package enum ProxySetting: Sendable, Hashable {
        /// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, as `ProxySelector` reads them.
        case environment
        /// Never a proxy.
        case direct
        case server(UpstreamProxy)
    }

    /// The fill-in-the-middle APIs of OpenAI-compatible servers (`fim_api` in the config).
    package enum FIMAPI: String, Sendable, Hashable, CaseIterable {
        /// `{base}/completions` with `prompt` and `suffix` (DeepSeek beta, vLLM, ollama, Together).
        case completions
        /// Mistral's `{base}/fim/completions`: chat-shaped answers.
        case mistral
        /// llama.cpp's `/infill` at the server's root (`{base}` without a final `/v1`), with
        /// `input_prefix`, `input_suffix` and `input_extra`.
        case infill
    }

    /// The Azure API version used when the config gives none.
    package static let defaultAzureAPIVersion = "2024-10-21"

    package init(
        name: String,
        kind: Kind = .openai,
        baseURL: String,
        keySource: KeySource,
        http1Only: Bool = false,
        isDemo: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.keySource = keySource
        self.http1Only = http1Only
        self.isDemo = isDemo
    }
}

/// A configured model name and the upstream model it stands for.
package struct ModelConfig: Sendable, Hashable {
    package var name: String
    package var provider: String
    package var upstreamModel: String
    /// `serves = ["chat", "embeddings"]`: the kinds of request this model takes; `nil` when not
    /// said (then whatever its provider's kind serves). A route never sends it another kind.
    package var serves: Set<String>?

    /// The names `serves` may list.
    package static let capabilityNames: [String] = ["chat", "embeddings", "completion"]

    package init(name: String, provider: String, upstreamModel: String, serves: Set<String>? = nil) {
        self.name = name
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.serves = serves
    }
}

/// Per-phase time limits, in milliseconds. `nil` disables a limit.
package struct TimeoutConfig: Sendable, Hashable {
    package var connectMs: Int
    package var headerMs: Int?
    package var firstTokenMs: Int?
    package var idleMs: Int?
    package var totalMs: Int?

    package static let `default` = TimeoutConfig(
        connectMs: 10_000,
        headerMs: 60_000,
        firstTokenMs: 120_000,
        idleMs: 60_000,
        totalMs: 600_000
    )

    package init(connectMs: Int, headerMs: Int?, firstTokenMs: Int?, idleMs: Int?, totalMs: Int?) {
        self.connectMs = connectMs
        self.headerMs = headerMs
        self.firstTokenMs = firstTokenMs
        self.idleMs = idleMs
        self.totalMs = totalMs
    }
}
