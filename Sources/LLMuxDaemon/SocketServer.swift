import LLMuxWire
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The NDJSON Unix socket listener. Framing lives in the channel pipeline
/// (`NDJSONLineDecoder`); each connection is handed to a `ConnectionSession`
/// in its own child task of a discarding task group.
struct SocketServer: Sendable {
    typealias Connection = ConnectionInbox.Connection

    struct ShuttingDown: Error {}

    /// The socket file this server created and removes on exit; nil when systemd owns the socket.
    let path: String?
    private let listener: any Channel
    private let inbox: ConnectionInbox
    private let lock: DaemonLock?
    private let logger: Logger

    /// Claims the path (stale socket replaced, live daemon respected), binds
    /// it with mode 0600 inside a 0700 directory.
    static func bind(path: String, maxLineBytes: Int, logger: Logger) async throws -> SocketServer {
        try SocketLocation.prepareDirectory(for: path)
        let lock = try DaemonLock(socketPath: path)
        try SocketLocation.claim(path)
        let inbox = ConnectionInbox()
        // bind(2) creates the file with the process umask applied; it is bound under a staging
        // name and renamed into place at 0600, so the path is never connectable at another mode.
        // The umask is not changed here: it is process-wide, and would race with anything else
        // creating files meanwhile.
        let listener = try await Self.bootstrap(inbox: inbox, maxLineBytes: maxLineBytes)
            .bind(unixDomainSocketPath: PrivateSocketFile.staging(for: path), cleanupExistingSocketFile: false)
            .get()
        do {
            try PrivateSocketFile.publish(path)
        } catch {
            try? await listener.close()
            throw error
        }
        logger.info("listening", metadata: ["socket": "\(path)"])
        return SocketServer(path: path, listener: listener, inbox: inbox, lock: lock, logger: logger)
    }

    /// Serves on a listening socket passed by systemd (socket activation).
    /// systemd created it with the unit's SocketMode= and owns the file.
    static func adopt(descriptor: CInt, maxLineBytes: Int, logger: Logger) async throws -> SocketServer {
        let inbox = ConnectionInbox()
        let listener = try await Self.bootstrap(inbox: inbox, maxLineBytes: maxLineBytes)
            .withBoundSocket(descriptor)
            .get()
        logger.info("listening on the socket passed by systemd", metadata: ["fd": "\(descriptor)"])
        return SocketServer(path: nil, listener: listener, inbox: inbox, lock: nil, logger: logger)
    }

    private static func bootstrap(inbox: ConnectionInbox, maxLineBytes: Int) -> ServerBootstrap {
        ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // Room for bursts of clients connecting at once (editor start-up, parallel scripts).
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let accepted = try inbox.offer {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: maxLineBytes))
                        )
                        return try Connection(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(inboundType: NDJSONInbound.self, outboundType: ByteBuffer.self)
                        )
                    }
                    // Refusing fails the initializer, and NIO closes the connection.
                    if !accepted { throw ShuttingDown() }
                }
            }
    }

    /// Stops accepting: `serve` then serves the connections already accepted and returns.
    func stopAccepting() {
        self.inbox.close()
        self.listener.close(promise: nil)
    }

    /// Serves connections until `stopAccepting()`, gives the requests in
    /// flight up to `grace` to finish, then cancels the open sessions, waits
    /// for them to end, and removes the socket file.
    func serve(_ session: ConnectionSession, grace: Duration = .zero) async {
        await withDiscardingTaskGroup { group in
            while let connection = await self.inbox.next() {
                group.addTask { await session.run(connection) }
            }
            await session.stats.drained(until: .now + grace)
            group.cancelAll()
        }
        try? await self.listener.closeFuture.get()
        if let path = self.path { unlink(path) }
        if let lock = self.lock { unlink(lock.path) }
    }
}
