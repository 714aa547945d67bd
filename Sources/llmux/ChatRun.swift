import Dispatch
import Foundation
import LLMuxClient
import LLMuxWire
import Synchronization

/// One streamed chat from the CLI: prints text as it arrives, maps the
/// terminal frame to an exit code, and turns Ctrl-C into a `cancel`.
struct ChatRun {
    var request: ChatRequest
    var options: ConnectionOptions
    /// Print reasoning deltas to stderr.
    var showReasoning = false

    func execute() async -> Int32 {
        let request = self.request
        let json = self.options.json
        let showReasoning = self.showReasoning
        let interrupted = Atomic<Bool>(false)
        return await DaemonSession.with(self.options) { connection in
            // Ctrl-C: send cancel, give the daemon 1 s to confirm, then leave with 130.
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler {
                guard !interrupted.exchange(true, ordering: .relaxed) else { exit(ExitStatus.interrupted) }
                Task { try? await connection.send(.cancel(id: request.id)) }
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { exit(ExitStatus.interrupted) }
            }
            source.resume()
            defer { source.cancel() }

            try await connection.send(.chat(request))
            var endsWithNewline = true
            for try await received in connection.frames {
                // A connection-level refusal (another user) ends the run too.
                if case .error(nil, let error) = received.frame, error.code == .permissionDenied {
                    if json { Output.line(received.raw) } else { Output.error("\(error.code.rawValue): \(error.message)") }
                    return ExitStatus.forError(error)
                }
                guard received.frame.id == request.id else { continue }
                if json && !Output.line(received.raw) { return ExitStatus.failure }
                switch received.frame {
                case .delta(let delta):
                    if !json && showReasoning, let reasoning = delta.reasoning, !reasoning.isEmpty {
                        Output.reasoning(reasoning)
                    }
                    if !json, let text = delta.text, !text.isEmpty {
                        // stdout closed: leaving closes the connection, which cancels the upstream request.
                        guard Output.text(text) else { return ExitStatus.failure }
                        endsWithNewline = text.hasSuffix("\n")
                    }
                case .done(let done):
                    if !json && !endsWithNewline && Output.stdoutIsTerminal { Output.text("\n") }
                    if interrupted.load(ordering: .relaxed) || done.finishReason == "cancelled" {
                        return ExitStatus.interrupted
                    }
                    return ExitStatus.ok
                case .error(_, let error):
                    if !json && !endsWithNewline && Output.stdoutIsTerminal { Output.text("\n") }
                    if !json { Output.error("\(error.code.rawValue): \(error.message)") }
                    if interrupted.load(ordering: .relaxed) { return ExitStatus.interrupted }
                    return ExitStatus.forError(error)
                default:
                    break
                }
            }
            Output.error("the daemon closed the connection before the answer ended")
            return ExitStatus.temporaryFailure
        }
    }
}
