/// Everything llmuxd needs to know, read once at start.
package struct DaemonConfig: Sendable, Hashable {
    /// The file this came from; `nil` when built from the environment alone.
    package var sourcePath: String?
    package var providers: [String: ProviderConfig]
    package var models: [String: ModelConfig]
    /// Model aliases over several targets (`[routes.NAME]`).
    package var routes: [String: RouteConfig] = [:]
    package var router: RouterConfig = RouterConfig()
    /// The OpenAI-compatible HTTP front.
    package var http: HTTPFrontConfig = HTTPFrontConfig()
    /// Prices that replace or extend the built-in table, by `provider/model` or model id.
    package var prices: [String: PriceOverride] = [:]
    package var budgets: BudgetConfig = BudgetConfig()
    /// `[telemetry]`: OpenTelemetry traces.
    package var telemetry: TelemetryConfig = TelemetryConfig()
    /// A configured model name or `provider/model`.
    package var defaultModel: String?
    package var timeouts: TimeoutConfig
    /// `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    package var logLevel: String?
    /// Human-readable lines on how the config was formed (zero-config discovery).
    package var notes: [String]
    /// How long a graceful shutdown waits for requests in flight.
    package var shutdownGraceMs: Int = 10_000
    /// Connections served at once; one more gets `too_many_connections` and is closed.
    package var maxConnections: Int = 1024

    package init(
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
    package static let demoProviderName = "demo"
    package static let demoModel = "demo/llmux-demo"

    package var usesDemo: Bool { self.providers.values.contains { $0.isDemo } }
}
