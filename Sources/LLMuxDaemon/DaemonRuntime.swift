package import LLMuxConfig
import LLMuxEngine
import LLMuxHTTPFront
import LLMuxLedger
import LLMuxUpstream
package import LLMuxWire
package import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

#if canImport(CMalloc)
import CMalloc
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Assembles and runs the daemon: shared HTTP clients, credentials, the
/// request engine, the demo upstream when configured, and the socket server.
package struct DaemonRuntime: Sendable {
    /// Where to listen: a path llmuxd binds itself, or a socket systemd passed.
    package enum Listen: Sendable {
        case path(String)
        case activated(descriptor: CInt)
    }

    package var config: DaemonConfig
    package var listen: Listen
    package var limits: ProtocolLimits
    /// Frames that may wait for one slow client before it is disconnected.
    package var maxPendingBytesPerConnection: Int
    package var environment: [String: String]
    package var logger: Logger
    /// SIGTERM and SIGINT shut the daemon down gracefully and SIGHUP reloads
    /// its configuration (llmuxd); off, an embedding (a test, the benchmark)
    /// stops it by cancelling `run` or through its own graceful shutdown.
    package var handlesSignals: Bool
    /// Where a reload reads the configuration again; `nil`: reloads are refused.
    package var configSource: LiveConfiguration.Source?
    /// The HTTP front's Unix socket (`http.sock` beside the NDJSON socket); `nil`: none.
    package var httpSocketPath: String?
    /// Called with each HTTP listener's address once it accepts connections.
    package var onHTTPListening: @Sendable (String) -> Void

    package init(
        config: DaemonConfig,
        listen: Listen,
        limits: ProtocolLimits = .default,
        maxPendingBytesPerConnection: Int = 64 * 1024 * 1024,
        environment: [String: String],
        logger: Logger,
        handlesSignals: Bool = false,
        configSource: LiveConfiguration.Source? = nil,
        httpSocketPath: String? = nil,
        onHTTPListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.httpSocketPath = httpSocketPath
        self.onHTTPListening = onHTTPListening
        self.configSource = configSource
        self.handlesSignals = handlesSignals
        self.config = config
        self.listen = listen
        self.limits = limits
        self.maxPendingBytesPerConnection = maxPendingBytesPerConnection
        self.environment = environment
        self.logger = logger
    }

    static func statusLine(_ stats: DaemonStats) -> String {
        "\(stats.connections) connections, \(stats.inFlight) requests in flight, \(stats.requestsTotal) served"
    }

    /// Keeps systemd's STATUS= current and, under `WatchdogSec=`, pings the
    /// watchdog at half its interval, each ping after a round trip through
    /// an event loop, so a wedged daemon stops pinging.
    static func reportToSystemd(_ stats: DaemonStats) async {
        let watchdog = SystemdIntegration.watchdogPingInterval()
        let interval = min(watchdog ?? .seconds(10), .seconds(10))
        var lastStatus = ""
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            if watchdog != nil {
                guard (try? await MultiThreadedEventLoopGroup.singleton.next().submit({}).get()) != nil else { continue }
                SystemdIntegration.watchdogPing()
            }
            let status = Self.statusLine(stats)
            if status != lastStatus {
                SystemdIntegration.status(status)
                lastStatus = status
            }
        }
    }

    /// Hands the heap memory a burst freed back to the kernel once the daemon has been idle for
    /// 2 s (`IdleTrimStateMachine`), looking once a second.
    static func returnMemoryWhenIdle(_ stats: DaemonStats) async {
        var trimmer = IdleTrimStateMachine(quietPeriod: .seconds(2))
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(1))
            } catch {
                return
            }
            switch trimmer.tick(inFlight: stats.inFlight, total: stats.requestsTotal, now: .now) {
            case .none: break
            case .trim:
                #if canImport(CMalloc)
                _ = malloc_trim(0)
                #endif
            }
        }
    }

    /// Binds the socket, calls `ready`, and serves until a graceful shutdown
    /// (from a signal, when `handlesSignals`, or from the service group the
    /// caller runs it in) or until the calling task is cancelled. Everything
    /// it started is shut down before it returns.
    ///
    /// One `ServiceGroup` runs the trace exporter, the ledger writer, the systemd
    /// reporter, the reload handler and the fronts; a graceful shutdown stops them
    /// in the reverse order, so the exporter and the ledger writer are the last to
    /// stop and see every request the fronts ended.
    package func run(ready: @escaping @Sendable () -> Void = {}) async throws {
        let config = self.config
        // Every socket llmuxd binds itself is checked the same way, however it was started: with
        // socket activation systemd hands over the NDJSON socket, but http.sock is still ours.
        if config.http.unixSocket, let httpSocketPath = self.httpSocketPath {
            try SocketLocation.prepareDirectory(for: httpSocketPath)
        }
        var token: Secret?
        if config.http.listen != nil {
            guard let path = APIToken.path(environment: self.environment) else {
                throw APIToken.Failure(description: "http_listen needs a token file, but neither XDG_CONFIG_HOME nor HOME is set")
            }
            token = try APIToken.loadOrCreate(at: path)
        }
        // The usage ledger. Without a place for it (no XDG_STATE_HOME, no HOME) or when it cannot be
        // opened, llmuxd still serves, says so, and records nothing.
        var ledger: UsageLedger?
        if let path = UsageLedger.defaultPath(environment: self.environment) {
            do {
                ledger = try UsageLedger(path: path, logger: self.logger)
            } catch {
                self.logger.error("the usage ledger is unavailable; requests are not recorded", metadata: ["error": "\(error)"])
            }
        } else {
            self.logger.warning("neither XDG_STATE_HOME nor HOME is set: no usage ledger")
        }
        let tracing = try TracingStartup.start(config, environment: self.environment, logger: self.logger)
        let live = try await LiveConfiguration.start(
            config: config,
            source: self.configSource,
            environment: self.environment,
            ledger: ledger,
            tracer: tracing?.tracer,
            logger: self.logger
        )
        let stats = DaemonStats()
        let front = HTTPFront(
            config: config.http,
            unixSocketPath: self.httpSocketPath,
            token: token,
            hooks: HTTPFront.Hooks(
                engine: { live.engine },
                isSameUser: { await PeerCredentials.isSameUser($0) },
                isShuttingDown: { stats.isShuttingDown },
                requestStarted: { stats.requestStarted() },
                requestEnded: { stats.requestEnded() },
                inFlight: { stats.inFlight },
                peerPID: { await PeerCredentials.peer($0).map { Int($0.pid) } }
            ),
            logger: self.logger
        )
        let session = ConnectionSession(
            live: live,
            limits: self.limits,
            stats: stats,
            logger: self.logger,
            maxPendingBytes: self.maxPendingBytesPerConnection
        )
        do {
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            // First, so stopped last: the spans of the requests the fronts end are still sent.
            if let tracing { services.append(.init(service: tracing.service, serviceName: "traces")) }
            if let ledger {
                services.append(.init(service: ClosureService { await cancelWhenGracefulShutdown { await ledger.run() } }, serviceName: "ledger"))
            }
            services.append(.init(service: ClosureService { await cancelWhenGracefulShutdown { await Self.reportToSystemd(stats) } }, serviceName: "systemd"))
            services.append(
                .init(service: ClosureService { await cancelWhenGracefulShutdown { await Self.returnMemoryWhenIdle(stats) } }, serviceName: "memory"))
            if self.handlesSignals {
                // Trapped before `ready`: a SIGHUP right after it must reload, not end the process.
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                let service = ClosureService {
                    for await _ in hangups.cancelOnGracefulShutdown() { _ = await live.reload() }
                }
                services.append(.init(service: service, serviceName: "reload"))
            }
            let fronts = FrontsService(
                listen: self.listen,
                maxLineBytes: self.limits.maxLineBytes,
                session: session,
                httpListeners: front.services(onListening: self.onHTTPListening),
                grace: .milliseconds(config.shutdownGraceMs),
                logger: self.logger,
                ready: ready
            )
            services.append(.init(service: fronts, serviceName: "fronts"))
            var configuration = ServiceGroupConfiguration(services: services, logger: self.logger)
            if self.handlesSignals { configuration.gracefulShutdownSignals = [.sigterm, .sigint] }
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            await live.shutdown()
            throw error
        }
        await live.shutdown()
    }
}
