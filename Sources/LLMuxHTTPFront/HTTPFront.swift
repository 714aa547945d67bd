package import LLMuxConfig
package import LLMuxEngine
import LLMuxWire
package import Logging
package import NIOCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
package import ServiceLifecycle

/// llmuxd's HTTP API (OpenAI chat completions and Anthropic Messages), served by Hummingbird on a Unix socket
/// (same-user only, checked with `SO_PEERCRED`) and, when configured, on
/// loopback TCP (bearer token required). Requests run on the same engine as
/// socket requests: routing, fallback and timeouts apply alike.
package final class HTTPFront: Sendable {
    /// What the front needs from the daemon around it.
    package struct Hooks: Sendable {
        /// The engine of the current configuration.
        package var engine: @Sendable () -> RequestEngine
        /// Whether the peer of a Unix-socket connection runs as the daemon's user; `nil` when
        /// the peer is gone before its credentials could be read.
        package var isSameUser: @Sendable (any Channel) async -> Bool?
        package var isShuttingDown: @Sendable () -> Bool
        package var requestStarted: @Sendable () -> Void
        package var requestEnded: @Sendable () -> Void
        package var inFlight: @Sendable () -> Int
        /// The process at the other end of a Unix-socket connection (`nil` on TCP), which
        /// scopes `x-llmux-supersede` keys.
        package var peerPID: @Sendable (any Channel) async -> Int?
        /// Who holds which `x-llmux-supersede` key.
        package let supersede = SupersedeBoard()

        package init(
            engine: @escaping @Sendable () -> RequestEngine,
            isSameUser: @escaping @Sendable (any Channel) async -> Bool?,
            isShuttingDown: @escaping @Sendable () -> Bool,
            requestStarted: @escaping @Sendable () -> Void,
            requestEnded: @escaping @Sendable () -> Void,
            inFlight: @escaping @Sendable () -> Int,
            peerPID: @escaping @Sendable (any Channel) async -> Int? = { _ in nil }
        ) {
            self.peerPID = peerPID
            self.engine = engine
            self.isSameUser = isSameUser
            self.isShuttingDown = isShuttingDown
            self.requestStarted = requestStarted
            self.requestEnded = requestEnded
            self.inFlight = inFlight
        }
    }

    /// Where one listener listens, and what it asks of a caller.
    enum Listener: Sendable {
        case unix(path: String)
        case tcp(HostPort)
    }

    let config: HTTPFrontConfig
    let unixSocketPath: String?
    let token: Secret?
    let hooks: Hooks
    let logger: Logger

    /// `token` is required when `config.listen` is set.
    package init(config: HTTPFrontConfig, unixSocketPath: String?, token: Secret?, hooks: Hooks, logger: Logger) {
        self.config = config
        self.unixSocketPath = unixSocketPath
        self.token = token
        self.hooks = hooks
        self.logger = logger
    }

    /// One Hummingbird application per configured listener, to run in the
    /// daemon's service group. Each stops accepting on a graceful shutdown and
    /// lets running responses finish; cancelling it stops it at once.
    /// `onListening` gets each listener's address once it accepts connections
    /// (`unix:PATH`, `http://HOST:PORT`).
    package func services(onListening: @escaping @Sendable (String) -> Void = { _ in }) -> [any Service] {
        var listeners: [Listener] = []
        if self.config.unixSocket, let path = self.unixSocketPath { listeners.append(.unix(path: path)) }
        if let address = self.config.listen { listeners.append(.tcp(address)) }
        return listeners.map { self.application(for: $0, onListening: onListening) }
    }

    private func application(for listener: Listener, onListening: @escaping @Sendable (String) -> Void) -> any Service {
        let router = Router(context: HTTPFrontContext.self, options: .autoGenerateHeadEndpoints)
        let handler = OpenAIHandlers(listener: listener, token: self.token, hooks: self.hooks, logger: self.logger)
        handler.register(on: router)
        let address: BindAddress
        switch listener {
        case .unix(let path):
            // The daemon holds the socket directory's lock: a leftover file is from an earlier run.
            unlink(path)
            address = .unixDomainSocket(path: PrivateSocketFile.staging(for: path))
        case .tcp(let hostPort):
            address = .hostname(hostPort.host, port: hostPort.port)
        }
        let logger = self.logger
        let headerTimeout = TimeAmount.milliseconds(Int64(self.config.headerTimeoutMs))
        let idleTimeout = TimeAmount.milliseconds(Int64(self.config.idleTimeoutMs))
        let app = Application(
            router: router,
            server: .http1OnEventLoop(
                configuration: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [HTTPConnectionGuard(headerTimeout: headerTimeout, idleTimeout: idleTimeout)]
                )
            ),
            configuration: ApplicationConfiguration(address: address, serverName: "llmuxd", backlog: 1024),
            onServerRunning: { channel in
                switch listener {
                case .unix(let path):
                    do {
                        try PrivateSocketFile.publish(path)
                    } catch {
                        logger.error("HTTP front not started", metadata: ["error": "\(error)"])
                        try? await channel.close()
                        return
                    }
                    logger.info("HTTP front listening", metadata: ["socket": "\(path)"])
                    onListening("unix:\(path)")
                case .tcp(let hostPort):
                    let port = channel.localAddress?.port ?? hostPort.port
                    let shown = HostPort(host: hostPort.host, port: port)
                    logger.info("HTTP front listening", metadata: ["address": "http://\(shown)"])
                    onListening("http://\(shown)")
                }
            },
            logger: self.logger
        )
        return app
    }
}
