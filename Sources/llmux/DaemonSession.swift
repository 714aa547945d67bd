import Foundation
import LLMuxClient
import LLMuxWire

/// Connects to the daemon (starting it when allowed) and runs a body with the connection.
enum DaemonSession {
    static func socketPath(_ options: ConnectionOptions) -> String? {
        SocketPaths.resolve(explicit: options.socket, environment: ProcessInfo.processInfo.environment)
    }

    /// Runs `body` connected to the daemon. Returns the body's exit code, or
    /// 69 when no daemon answers, 78 when there is no socket path.
    static func with(_ options: ConnectionOptions, _ body: @escaping @Sendable (LLMuxConnection) async throws -> Int32) async -> Int32 {
        guard let path = socketPath(options) else {
            Output.error(SocketPaths.missingRuntimeDirectoryMessage)
            return ExitStatus.config
        }
        if !options.noAutostart {
            let launcher = DaemonLauncher(socketPath: path, environment: ProcessInfo.processInfo.environment)
            do {
                try await launcher.ensureRunning { await answers(path) }
            } catch {
                Output.error("\(error)")
                return ExitStatus.unavailable
            }
        }
        do {
            return try await LLMuxConnection.withConnection(socketPath: path, body)
        } catch let error as ClientError {
            if case .refused(let received) = error {
                if options.json { Output.line(received.raw) } else { Output.error("\(error)") }
                guard case .error(_, let refusal) = received.frame else { return ExitStatus.failure }
                return ExitStatus.forError(refusal)
            }
            if case .daemonUnreachable = error {
                Output.error("\(error); start it with `llmuxd` or drop --no-autostart")
                return ExitStatus.unavailable
            }
            Output.error("\(error)")
            return ExitStatus.failure
        } catch {
            Output.error("\(error)")
            return ExitStatus.failure
        }
    }

    /// Whether a daemon answers a ping on `path`.
    static func answers(_ path: String) async -> Bool {
        do {
            return try await LLMuxConnection.withConnection(socketPath: path) { connection in
                try await connection.send(.ping(id: "autostart-probe"))
                for try await received in connection.frames {
                    if case .pong = received.frame { return true }
                }
                return false
            }
        } catch {
            return false
        }
    }
}

/// `models`, `status`, `ping`: one question, one answer.
struct SimpleQuery {
    var frame: ClientFrame
    var options: ConnectionOptions

    func execute(_ handle: @escaping @Sendable (ServerFrame) -> Bool) async -> Int32 {
        let frame = self.frame
        let json = self.options.json
        return await DaemonSession.with(self.options) { connection in
            try await connection.send(frame)
            for try await received in connection.frames {
                if json { Output.line(received.raw) }
                if case .error(_, let error) = received.frame {
                    Output.error("\(error.code.rawValue): \(error.message)")
                    return ExitStatus.forError(error)
                }
                if json || handle(received.frame) { return ExitStatus.ok }
            }
            Output.error("the daemon closed the connection without answering")
            return ExitStatus.failure
        }
    }
}
