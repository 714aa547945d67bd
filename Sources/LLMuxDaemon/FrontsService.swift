import Logging
import ServiceLifecycle

/// The daemon's two fronts as one service: the NDJSON socket server and the
/// HTTP front's listeners. They stop together: on a graceful shutdown both
/// stop accepting at once (new requests on open connections get
/// `shutting_down`), the requests in flight get the grace period to finish,
/// and whatever still runs then is cancelled. Cancelling the service stops
/// everything at once.
///
/// The socket is bound when the service starts, after the service group
/// trapped its signals: a client that can connect can also stop the daemon
/// with SIGTERM and get a graceful shutdown. The HTTP listeners run as child
/// tasks, so they see the same graceful shutdown as this service (it reaches
/// them through the task's context).
struct FrontsService: Service {
    let listen: DaemonRuntime.Listen
    let maxLineBytes: Int
    let session: ConnectionSession
    let httpListeners: [any Service]
    let grace: Duration
    let logger: Logger
    /// Called once the service runs: the signal handlers of the service group are in place by then.
    let ready: @Sendable () -> Void

    func run() async throws {
        let server: SocketServer
        switch self.listen {
        case .path(let path):
            server = try await SocketServer.bind(path: path, maxLineBytes: self.maxLineBytes, logger: self.logger)
        case .activated(let descriptor):
            server = try await SocketServer.adopt(descriptor: descriptor, maxLineBytes: self.maxLineBytes, logger: self.logger)
        }
        let stats = self.session.stats
        self.ready()
        SystemdIntegration.ready(status: DaemonRuntime.statusLine(stats))
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    for listener in self.httpListeners {
                        group.addTask {
                            do {
                                try await listener.run()
                            } catch {
                                if !Task.isCancelled { self.logger.error("the HTTP front stopped", metadata: ["error": "\(error)"]) }
                            }
                        }
                    }
                    await server.serve(self.session, grace: self.grace)
                    group.cancelAll()
                }
            } onCancel: {
                server.stopAccepting()
                SystemdIntegration.stopping()
            }
        } onGracefulShutdown: {
            self.logger.notice("shutting down", metadata: ["in_flight": "\(stats.inFlight)"])
            stats.beginShutdown()
            server.stopAccepting()
            SystemdIntegration.stopping()
        }
    }
}
