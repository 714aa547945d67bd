package import LLMuxConfig
package import LLMuxEngine
package import LLMuxCost
package import LLMuxLedger
import LLMuxMetrics
import LLMuxRouting
package import LLMuxTelemetry
import LLMuxUpstream
package import LLMuxWire
package import Logging
import NIOConcurrencyHelpers

/// The configuration the daemon serves with, and the engine built from it.
///
/// A reload (SIGHUP or a `reload` frame) parses and validates the file
/// again. An invalid file changes nothing and its error (file, line, key) is
/// returned and logged. A valid one swaps in a new engine: requests already
/// running keep the engine (and so the configuration) they started with. The
/// HTTP clients, and with them the connection pools, the credential cache of
/// unchanged providers, the health of unchanged targets and the provider
/// queues carry over.
package final class LiveConfiguration: Sendable {
    /// Produces the configuration to reload: re-reads the same file (or, in
    /// zero-config mode, the environment).
    package typealias Source = @Sendable () throws(ConfigError) -> DaemonConfig

    private let engineBox: NIOLockedValueBox<RequestEngine>
    private let configBox: NIOLockedValueBox<DaemonConfig>
    private let source: Source?
    private let clients: UpstreamHTTPClients
    /// HTTP for configured providers, in process for the demo.
    private let transports: UpstreamTransports
    private let credentials: CredentialResolver
    private let board: TargetHealthBoard
    private let queues: ProviderQueues
    private let metrics = RequestMetrics()
    private let ledger: UsageLedger?
    /// The budgets, kept across reloads (running requests hold reservations).
    package let budgets: BudgetGuard
    private let logger: Logger
    /// The spans' tracer, the same across reloads; `nil`: traces are off.
    private let tracer: RequestTracer?
    /// One reload at a time.
    private let reloading = NIOLockedValueBox(false)

    /// Starts serving `config`.
    package static func start(
        config: DaemonConfig,
        source: Source?,
        environment: [String: String],
        ledger: UsageLedger?,
        tracer: RequestTracer? = nil,
        logger: Logger
    ) async throws -> LiveConfiguration {
        let clients = UpstreamHTTPClients(connectTimeoutMs: config.timeouts.connectMs, environment: environment)
        let credentials = CredentialResolver(environment: environment, logger: logger)
        let live = LiveConfiguration(
            config: config,
            source: source,
            clients: clients,
            credentials: credentials,
            board: TargetHealthBoard(settings: config.router),
            queues: ProviderQueues(),
            ledger: ledger,
            tracer: tracer,
            logger: logger
        )
        live.announceDemo(config)
        return live
    }

    private init(
        config: DaemonConfig,
        source: Source?,
        clients: UpstreamHTTPClients,
        credentials: CredentialResolver,
        board: TargetHealthBoard,
        queues: ProviderQueues,
        ledger: UsageLedger?,
        tracer: RequestTracer?,
        logger: Logger
    ) {
        self.tracer = tracer
        self.ledger = ledger
        self.budgets = BudgetGuard(limits: config.budgets.limits, spent: BudgetGuard.spent(from: ledger))
        self.source = source
        self.clients = clients
        let http = UpstreamTransports.http(clients)
        let demo = DemoTransport()
        self.transports = UpstreamTransports { provider in provider.isDemo ? demo : http.transport(for: provider) }
        self.credentials = credentials
        self.board = board
        self.queues = queues
        self.logger = logger
        self.configBox = NIOLockedValueBox(config)
        self.engineBox = NIOLockedValueBox(
            RequestEngine(
                config: config,
                transports: self.transports,
                credentials: credentials,
                board: board,
                queues: queues,
                metrics: self.metrics,
                ledger: ledger,
                budgets: self.budgets,
                tracer: tracer,
                logger: logger
            )
        )
    }

    /// The engine new requests run on.
    package var engine: RequestEngine { self.engineBox.withLockedValue { $0 } }
    package var config: DaemonConfig { self.configBox.withLockedValue { $0 } }

    /// Says once that answers come from the demo, when a configuration serves it.
    private func announceDemo(_ config: DaemonConfig) {
        if config.usesDemo {
            self.logger.notice("serving the built-in DEMO provider (no real model); set OPENAI_API_KEY or write a config file for real answers")
        }
    }

    private func install(_ config: DaemonConfig) {
        let engine = RequestEngine(
            config: config,
            transports: self.transports,
            credentials: self.credentials,
            board: self.board,
            queues: self.queues,
            metrics: self.metrics,
            ledger: self.ledger,
            budgets: self.budgets,
            tracer: self.tracer,
            logger: self.logger
        )
        self.configBox.withLockedValue { $0 = config }
        self.engineBox.withLockedValue { $0 = engine }
    }

    /// Loads the configuration again and, if it is valid, serves it from now on.
    package func reload() async -> Result<ReloadSummary, WireError> {
        guard
            self.reloading.withLockedValue({ busy in
                defer { busy = true }
                return !busy
            })
        else {
            return .failure(WireError(.configError, "a reload is already running", retryable: true))
        }
        defer { self.reloading.withLockedValue { $0 = false } }
        SystemdIntegration.reloading()
        defer { SystemdIntegration.readyAfterReload() }
        guard let source = self.source else {
            return .failure(WireError(.configError, "this daemon has no configuration source to reload"))
        }
        let loaded: DaemonConfig
        do {
            loaded = try source()
        } catch {
            self.logger.error("reload failed; keeping the current configuration", metadata: ["error": "\(error)"])
            return .failure(WireError(.configError, "reload failed, the current configuration stays: \(error)"))
        }
        let next = loaded
        if next.usesDemo && !self.config.usesDemo { self.announceDemo(next) }
        let previous = self.config
        // What was learned about a provider whose settings changed no longer applies.
        let changed = Set(previous.providers.keys).union(next.providers.keys).filter { previous.providers[$0] != next.providers[$0] }
        self.board.forget(providers: changed)
        for provider in changed { await self.credentials.forget(provider: provider) }
        self.board.update(settings: next.router)
        self.budgets.update(limits: next.budgets.limits)
        if next.timeouts.connectMs != previous.timeouts.connectMs {
            self.logger.warning("timeouts.connect_ms changes take effect at the next start (the connection pools are kept)")
        }
        if next.logLevel != previous.logLevel {
            self.logger.warning("log_level changes take effect at the next start")
        }
        self.install(next)
        let summary = ReloadSummary(configPath: next.sourcePath, providers: next.providers.count, models: next.models.count, routes: next.routes.count)
        self.logger.notice(
            "configuration reloaded",
            metadata: [
                "config": "\(next.sourcePath ?? "zero-config")", "providers": "\(summary.providers)", "routes": "\(summary.routes)",
                "changed_providers": "\(changed.sorted().joined(separator: ","))",
            ]
        )
        return .success(summary)
    }

    /// Closes the HTTP clients.
    func shutdown() async {
        try? await self.clients.shutdown()
    }
}
