/// Everything llmuxd needs to know, read once at start.
public struct DaemonConfig: Sendable, Hashable {
    /// The file this came from; `nil` when built from the environment alone.
    public var sourcePath: String?
    public var providers: [String: ProviderConfig]
    public var models: [String: ModelConfig]
    /// Model aliases over several targets (`[routes.NAME]`).
    public var routes: [String: RouteConfig] = [:]
    public var router: RouterConfig = RouterConfig()
    /// The OpenAI-compatible HTTP front.
    public var http: HTTPFrontConfig = HTTPFrontConfig()
    /// Prices that replace or extend the built-in table, by `provider/model` or model id.
    public var prices: [String: PriceOverride] = [:]
    public var budgets: BudgetConfig = BudgetConfig()
    /// A configured model name or `provider/model`.
    public var defaultModel: String?
    public var timeouts: TimeoutConfig
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    public var logLevel: String?
    /// Human-readable lines on how the config was formed (zero-config discovery).
    public var notes: [String]
    /// How long a graceful shutdown waits for requests in flight.
    public var shutdownGraceMs: Int = 10_000
    /// Connections served at once; one more gets `too_many_connections` and is closed.
    public var maxConnections: Int = 1024

    public init(
        sourcePath: String? = nil,
        providers: [String: ProviderConfig] = [:],
        models: [String: ModelConfig] = [:],
        defaultModel: String? = nil,
        timeouts: TimeoutConfig = .default,
        logLevel: String? = nil,
        notes: [String] = []
    ) {
        self.sourcePath = sourcePath
        self.providers = providers
        self.models = models
        self.defaultModel = defaultModel
        self.timeouts = timeouts
        self.logLevel = logLevel
        self.notes = notes
    }

    /// The name of the built-in demo provider and its model.
    public static let demoProviderName = "demo"
    public static let demoModel = "demo/llmux-demo"

    public var usesDemo: Bool { self.providers.values.contains { $0.isDemo } }
}
