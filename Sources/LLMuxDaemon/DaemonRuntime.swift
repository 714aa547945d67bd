public import LLMuxConfig
import LLMuxEngine
import LLMuxMockUpstream
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
    public var config: DaemonConfig
    public var socketPath: String
    public var limits: ProtocolLimits
    /// Frames that may wait for one slow client before it is disconnected.
    public var maxPendingBytesPerConnection: Int
    public var environment: [String: String]
    public var logger: Logger

    public init(
        config: DaemonConfig,
        socketPath: String,
        limits: ProtocolLimits = .default,
        maxPendingBytesPerConnection: Int = 64 * 1024 * 1024,
        environment: [String: String],
        logger: Logger
    ) {
        self.config = config
        self.socketPath = socketPath
        self.limits = limits
        self.maxPendingBytesPerConnection = maxPendingBytesPerConnection
        self.environment = environment
        self.logger = logger
    }

    /// Binds the socket, calls `ready`, and serves until the calling task is
    /// cancelled. Everything it started is shut down before it returns.
    public func run(ready: @Sendable () -> Void = {}) async throws {
        var config = self.config
        var demo: MockUpstream?
        if config.usesDemo {
            let mock = try await MockUpstream.start(host: "127.0.0.1", port: 0, defaultScript: DemoResponder.script)
            demo = mock
            for (name, provider) in config.providers where provider.isDemo {
                config.providers[name]?.baseURL = mock.baseURL
            }
            self.logger.notice("serving the built-in DEMO provider (no real model); set OPENAI_API_KEY or write a config file for real answers")
        }
        let clients = UpstreamHTTPClients(connectTimeoutMs: config.timeouts.connectMs)
        let credentials = CredentialResolver(environment: self.environment, logger: self.logger)
        let engine = RequestEngine(config: config, clients: clients, credentials: credentials, logger: self.logger)
        let session = ConnectionSession(
            engine: engine,
            limits: self.limits,
            stats: DaemonStats(),
            providerNames: config.providers.keys.sorted(),
            logger: self.logger,
            maxPendingBytes: self.maxPendingBytesPerConnection
        )
        do {
            let server = try await SocketServer.bind(path: self.socketPath, maxLineBytes: self.limits.maxLineBytes, logger: self.logger)
            ready()
            // Cancelling `run` stops the listener; `serve` then drains and returns.
            await withTaskCancellationHandler {
                await server.serve(session)
            } onCancel: {
                server.stopAccepting()
            }
        } catch {
            try? await clients.shutdown()
            await demo?.shutdown()
            throw error
        }
        try? await clients.shutdown()
        await demo?.shutdown()
    }
}
