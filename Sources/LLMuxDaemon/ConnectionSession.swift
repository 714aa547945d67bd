import LLMuxConcurrency
import LLMuxEngine
import LLMuxWire
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves one client connection: reads NDJSON frames, runs each `chat` as its
/// own child task, and writes every frame through one `FrameOutbox`.
///
/// When the client half-closes (sends its requests, then shuts down its write
/// side) in-flight requests run to completion and the connection closes after
/// their terminal frames. When the client hangs up, every request is
/// cancelled at once, which aborts its upstream HTTP request.
struct ConnectionSession: Sendable {
    /// The current configuration; each request runs on the engine current when it arrived.
    let live: LiveConfiguration
    let limits: ProtocolLimits
    let stats: DaemonStats
    let logger: Logger
    /// Frames waiting for a client that does not read, beyond which it is disconnected.
    let maxPendingBytes: Int

    func run(_ channel: NIOAsyncChannel<NDJSONInbound, ByteBuffer>) async {
        guard let peer = await PeerCredentials.peer(channel.channel) else {
            // The client left before its credentials could be read (connect, then close at once):
            // nobody to refuse, and nothing to warn about.
            self.logger.debug("a connection closed before its peer could be checked")
            try? await channel.channel.close()
            return
        }
        guard peer.uid == getuid() else {
            self.logger.warning("refused a connection from another user", metadata: ["uid": "\(peer.uid)", "pid": "\(peer.pid)"])
            try? await channel.executeThenClose { inbound, _ in
                var buffer = ByteBuffer()
                ServerFrame.error(id: nil, PeerCredentials.refusal).encode(into: &buffer)
                try await channel.channel.writeAndFlush(buffer).get()
                // Read (and drop) what the client already sent, for up to a second: closing
                // with unread input would reset the connection before it reads the refusal.
                try? await channel.channel.close(mode: .output)
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { do { for try await _ in inbound {} } catch {} }
                    group.addTask { try? await Task.sleep(for: .seconds(1)) }
                    await group.next()
                    group.cancelAll()
                }
            }
            return
        }
        guard self.stats.tryOpenConnection(limit: self.live.config.maxConnections) else {
            self.logger.warning("refused a connection: max_connections reached", metadata: ["max_connections": "\(self.live.config.maxConnections)"])
            try? await channel.executeThenClose { _, _ in
                var buffer = ByteBuffer()
                let error = WireError(
                    .tooManyConnections,
                    "llmuxd already serves max_connections = \(self.live.config.maxConnections) connections; close one or raise the limit",
                    retryable: true
                )
                ServerFrame.error(id: nil, error).encode(into: &buffer)
                try await channel.channel.writeAndFlush(buffer).get()
            }
            return
        }
        defer { self.stats.connectionClosed() }
        let logger = self.logger
        let registry = RequestRegistry(limit: self.limits.maxInFlight)
        let eventLoop = channel.channel.eventLoop
        let outbox = FrameOutbox(
            maxPendingBytes: self.maxPendingBytes,
            schedule: { delay, body in
                eventLoop.scheduleTask(in: TimeAmount(delay)) { body() }
            },
            onBackpressure: { id in
                logger.warning("client reads too slowly; stopping its largest stream", metadata: ["request_id": "\(id)"])
                registry.cancel(id)
            },
            onOverflow: {
                logger.warning("client does not read its frames; closing the connection", metadata: ["pending_limit": "\(self.maxPendingBytes)"])
                channel.channel.close(promise: nil)
            }
        )
        // A hang-up cancels everything, even requests that are waiting silently for a first token.
        channel.channel.closeFuture.whenComplete { _ in
            registry.cancelAll()
            outbox.close()
        }
        do {
            // The connection's tasks run on its event loop (see EventLoopTaskExecutor).
            try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
                try await channel.executeThenClose { inbound, _ in
                    await withDiscardingTaskGroup { connection in
                        connection.addTask {
                            // Writes go through the channel's future (which task cancellation does not
                            // abort) and each waits for the previous one: backpressure without losing the
                            // terminal frames of requests cancelled at shutdown.
                            while let buffer = await outbox.next() {
                                do {
                                    try await channel.channel.writeAndFlush(buffer).get()
                                } catch {
                                    break
                                }
                            }
                            registry.cancelAll()
                            outbox.close()
                            channel.channel.close(promise: nil)
                        }
                        await withDiscardingTaskGroup { requests in
                            // The name a `hello` gave, attached to this connection's request logs.
                            var client: String?
                            var priority = RequestPriority.interactive
                            var coalesceMs = 0
                            do {
                                for try await item in inbound {
                                    self.handle(
                                        item, outbox: outbox, registry: registry, peer: peer,
                                        client: &client, priority: &priority, coalesceMs: &coalesceMs, requests: &requests
                                    )
                                }
                            } catch {
                                self.logger.debug("connection read failed", metadata: ["error": "\(error)"])
                            }
                        }
                        // Input ended and every request has sent its terminal frame.
                        outbox.close()
                    }
                }
            }
        } catch {
            self.logger.debug("connection closed with error", metadata: ["error": "\(error)"])
        }
    }

    private func handle(
        _ item: NDJSONInbound,
        outbox: FrameOutbox,
        registry: RequestRegistry,
        peer: PeerCredentials.PeerCredential,
        client: inout String?,
        priority: inout RequestPriority,
        coalesceMs: inout Int,
        requests: inout DiscardingTaskGroup
    ) {
        let line: ByteBuffer
        switch item {
        case .tooLong(let limit):
            outbox.send(.error(id: nil, WireError(.frameTooLarge, "a line exceeded \(limit) bytes; it was skipped up to its newline")))
            return
        case .line(let buffer):
            line = buffer
        }
        let frame: ClientFrame
        do {
            frame = try ClientFrame.decode(line: line)
        } catch {
            outbox.send(.error(id: error.id, error.error))
            return
        }
        switch frame {
        case .hello(let hello):
            client = hello.client
            if let chosen = hello.priority { priority = chosen }
            if let window = hello.coalesceMs { coalesceMs = window }
            guard hello.protocols.contains(ProtocolVersion.current) else {
                outbox.send(
                    .error(
                        id: nil,
                        WireError(.unsupportedProtocol, "this daemon speaks protocol \(ProtocolVersion.supported) only; the client offered \(hello.protocols)")
                    )
                )
                return
            }
            outbox.send(
                .hello(ServerHello(protocolVersion: ProtocolVersion.current, server: "llmuxd", version: LLMuxVersion.current, limits: self.limits))
            )
        case .chat(let request):
            if self.stats.isShuttingDown {
                outbox.send(.error(id: request.id, DaemonStats.shuttingDownError))
                return
            }
            let cancellation: RequestCancellation
            switch registry.register(request.id, supersede: request.supersedeKey) {
            case .duplicate:
                outbox.send(.error(id: request.id, WireError(.duplicateID, "request id '\(request.id)' is still in flight on this connection")))
                return
            case .full:
                outbox.send(
                    .error(
                        id: request.id,
                        WireError(.tooManyInflight, "this connection already has \(self.limits.maxInFlight) requests in flight", retryable: true)
                    )
                )
                return
            case .registered(let registered):
                cancellation = registered
            }
            outbox.coalesce(request.id, window: .milliseconds(request.coalesceMs ?? coalesceMs))
            self.stats.requestStarted()
            let engine = self.live.engine
            let stats = self.stats
            let origin = RequestOrigin(client: client, pid: Int(peer.pid), uid: Int(peer.uid), priority: priority)
            requests.addTask {
                await cancellation.run {
                    await engine.run(
                        request,
                        origin: origin,
                        cancellationError: { stats.isShuttingDown ? DaemonStats.shuttingDownError : nil },
                        cancelReason: { cancellation.reason },
                        emit: { frame in outbox.send(frame) }
                    )
                }
                registry.remove(request.id)
                stats.requestEnded()
            }
        case .cancel(let id):
            registry.cancel(id)
        case .ping(let id):
            outbox.send(.pong(id: id))
        case .models(let id):
            let engine = self.live.engine
            outbox.send(.models(id: id, models: engine.resolver.listedModels(), defaultModel: engine.resolver.config.defaultModel))
        case .reload(let id):
            let live = self.live
            requests.addTask {
                switch await live.reload() {
                case .success(let summary): outbox.send(.reloaded(id: id, summary))
                case .failure(let error): outbox.send(.error(id: id, error))
                }
            }
        case .status(let id):
            outbox.send(
                .status(
                    id: id,
                    DaemonStatus(
                        version: LLMuxVersion.current,
                        pid: Int(getpid()),
                        uptimeMs: (ContinuousClock.now - self.stats.startedAt).wholeMilliseconds,
                        connections: self.stats.connections,
                        inFlight: self.stats.inFlight,
                        requestsTotal: self.stats.requestsTotal,
                        providers: self.live.config.providers.keys.sorted(),
                        targets: self.live.engine.board.snapshot(),
                        budgets: self.live.budgets.snapshot()
                    )
                )
            )
        }
    }
}
