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
    typealias Connection = NIOAsyncChannel<NDJSONInbound, ByteBuffer>

    let path: String
    private let listener: NIOAsyncChannel<Connection, Never>
    private let lock: DaemonLock
    private let logger: Logger

    /// Claims the path (stale socket replaced, live daemon respected), binds
    /// it with mode 0600 inside a 0700 directory.
    static func bind(path: String, maxLineBytes: Int, logger: Logger) async throws -> SocketServer {
        try SocketLocation.prepareDirectory(for: path)
        let lock = try DaemonLock(socketPath: path)
        try SocketLocation.claim(path)
        // The socket file is created by bind(2) with the umask applied: make it private from birth.
        let previousMask = umask(0o177)
        defer { umask(previousMask) }
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: maxLineBytes))
                    )
                    return try Connection(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(inboundType: NDJSONInbound.self, outboundType: ByteBuffer.self)
                    )
                }
            }
        chmod(path, 0o600)
        logger.info("listening", metadata: ["socket": "\(path)"])
        return SocketServer(path: path, listener: listener, lock: lock, logger: logger)
    }

    /// Accepts connections until the calling task is cancelled, then waits
    /// for the open connections to end and removes the socket file.
    func serve(_ session: ConnectionSession) async {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await self.listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await session.run(connection) }
                    }
                }
            }
        } catch is CancellationError {
        } catch {
            self.logger.error("listener failed", metadata: ["error": "\(error)"])
        }
        unlink(self.path)
        unlink(self.lock.path)
    }
}
