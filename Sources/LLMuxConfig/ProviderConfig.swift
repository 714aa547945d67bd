/// One upstream provider, as configured.
public struct ProviderConfig: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Any OpenAI-compatible chat-completions endpoint.
        case openai
        /// Anthropic's Messages API (`/v1/messages`, `x-api-key`).
        case anthropic
        /// Azure OpenAI: `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=...`, `api-key` header.
        case azure
    }

    /// Where the provider's API key comes from.
    public enum KeySource: Sendable, Hashable {
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
    public var name: String
    public var kind: Kind
    /// For example `https://api.openai.com/v1`; `/chat/completions` is appended.
    public var baseURL: String
    public var keySource: KeySource
    /// Forces HTTP/1.1 (async-http-client's HTTP/2 has open GOAWAY/RST_STREAM bugs).
    public var http1Only: Bool
    /// A built-in provider for demonstrations (the bundled mock upstream).
    public var isDemo: Bool
    /// Time limits for this provider's requests, over the global `[timeouts]`.
    public var timeouts: TimeoutOverrides = TimeoutOverrides()
    /// Most requests sent to this provider at once; more wait in its queue. `nil`: no limit.
    public var maxInflight: Int?
    /// Extra request headers (for example OpenRouter's `HTTP-Referer` and `X-Title`).
    public var headers: [String: String] = [:]
    /// Extra query items appended to the endpoint URL.
    public var query: [String: String] = [:]
    /// Azure: the deployment; `nil` uses the requested model name as the deployment.
    public var deployment: String?
    /// Azure: the `api-version` query item.
    public var apiVersion: String?

    /// The Azure API version used when the config gives none.
    public static let defaultAzureAPIVersion = "2024-10-21"

    public init(
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
public struct ModelConfig: Sendable, Hashable {
    public var name: String
    public var provider: String
    public var upstreamModel: String

    public init(name: String, provider: String, upstreamModel: String) {
        self.name = name
        self.provider = provider
        self.upstreamModel = upstreamModel
    }
}

/// Per-phase time limits, in milliseconds. `nil` disables a limit.
public struct TimeoutConfig: Sendable, Hashable {
    public var connectMs: Int
    public var headerMs: Int?
    public var firstTokenMs: Int?
    public var idleMs: Int?
    public var totalMs: Int?

    public static let `default` = TimeoutConfig(
        connectMs: 10_000,
        headerMs: 60_000,
        firstTokenMs: 120_000,
        idleMs: 60_000,
        totalMs: 600_000
    )

    public init(connectMs: Int, headerMs: Int?, firstTokenMs: Int?, idleMs: Int?, totalMs: Int?) {
        self.connectMs = connectMs
        self.headerMs = headerMs
        self.firstTokenMs = firstTokenMs
        self.idleMs = idleMs
        self.totalMs = totalMs
    }
}
