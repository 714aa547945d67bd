public import LLMuxConfig
import LLMuxEngine
import LLMuxHTTPFront
import LLMuxLedger
import LLMuxUpstream
public import LLMuxWire
public import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Assembles and runs the daemon: shared HTTP clients, credentials, the
/// request engine, the demo upstream when configured, and the socket server.
public struct DaemonRuntime: Sendable {
    /// Where to listen: a path llmuxd binds itself, or a socket systemd passed.
    public enum Listen: Sendable {
        case path(String)
        case activated(descriptor: CInt)
    }

    public var config: DaemonConfig
    public var listen: Listen
    public var limits: ProtocolLimits
    /// Frames that may wait for one slow client before it is disconnected.
    public var maxPendingBytesPerConnection: Int
    public var environment: [String: String]
    public var logger: Logger
    /// Triggering it starts a graceful shutdown.
    public var shutdown: ShutdownSignal
    /// Where a reload reads the configuration again; `nil`: reloads are refused.
    public var configSource: LiveConfiguration.Source?
    /// Triggering it reloads the configuration (SIGHUP).
    public var reload: ReloadSignal
    /// The HTTP front's Unix socket (`http.sock` beside the NDJSON socket); `nil`: none.
    public var httpSocketPath: String?
    /// Called with each HTTP listener's address once it accepts connections.
    public var onHTTPListening: @Sendable (String) -> Void

    public init(
        config: DaemonConfig,
        listen: Listen,
        limits: ProtocolLimits = .default,
        maxPendingBytesPerConnection: Int = 64 * 1024 * 1024,
        environment: [String: String],
        logger: Logger,
        shutdown: ShutdownSignal = ShutdownSignal(),
        configSource: LiveConfiguration.Source? = nil,
        reload: ReloadSignal = ReloadSignal(),
        httpSocketPath: String? = nil,
        onHTTPListening: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.httpSocketPath = httpSocketPath
        self.onHTTPListening = onHTTPListening
        self.configSource = configSource
        self.reload = reload
        self.config = config
        self.listen = listen
        self.limits = limits
        self.maxPendingBytesPerConnection = maxPendingBytesPerConnection
        self.environment = environment
        self.logger = logger
        self.shutdown = shutdown
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

    /// Binds the socket, calls `ready`, and serves until the calling task is
    /// cancelled. Everything it started is shut down before it returns.
    public func run(ready: @Sendable () -> Void = {}) async throws {
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
        let live = try await LiveConfiguration.start(
            config: config,
            source: self.configSource,
            environment: self.environment,
            ledger: ledger,
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
                inFlight: { stats.inFlight }
            ),
            logger: self.logger
        )
        let onHTTPListening = self.onHTTPListening
        let session = ConnectionSession(
            live: live,
            limits: self.limits,
            stats: stats,
            logger: self.logger,
            maxPendingBytes: self.maxPendingBytesPerConnection
        )
        do {
            let server: SocketServer
            switch self.listen {
            case .path(let path):
                server = try await SocketServer.bind(path: path, maxLineBytes: self.limits.maxLineBytes, logger: self.logger)
            case .activated(let descriptor):
                server = try await SocketServer.adopt(descriptor: descriptor, maxLineBytes: self.limits.maxLineBytes, logger: self.logger)
            }
            ready()
            SystemdIntegration.ready(status: Self.statusLine(stats))
            // `shutdown` stops the listener and lets requests finish within the grace
            // period; cancelling `run` stops the listener and cuts them off at once.
            let shutdown = self.shutdown
            let reload = self.reload
            let logger = self.logger
            await withTaskCancellationHandler {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await Self.reportToSystemd(stats) }
                    if let ledger { group.addTask { await ledger.run() } }
                    group.addTask {
                        do {
                            try await front.run(onListening: onHTTPListening)
                        } catch {
                            if !Task.isCancelled { logger.error("the HTTP front stopped", metadata: ["error": "\(error)"]) }
                        }
                    }
                    group.addTask {
                        for await _ in reload.requests {
                            _ = await live.reload()
                        }
                    }
                    group.addTask {
                        await withTaskCancellationHandler {
                            await shutdown.wait()
                        } onCancel: {
                            shutdown.trigger()
                        }
                        guard !Task.isCancelled else { return }
                        logger.notice("shutting down", metadata: ["in_flight": "\(stats.inFlight)"])
                        stats.beginShutdown()
                        server.stopAccepting()
                        SystemdIntegration.stopping()
                        await front.stop()
                    }
                    await server.serve(session, grace: .milliseconds(config.shutdownGraceMs))
                    group.cancelAll()
                }
            } onCancel: {
                server.stopAccepting()
                SystemdIntegration.stopping()
            }
        } catch {
            await live.shutdown()
            throw error
        }
        await live.shutdown()
    }
}
