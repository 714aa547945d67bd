import Foundation
import NIOConcurrencyHelpers
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// One run of a provider's `api_key_cmd`: argv without a shell, stdin and stderr
/// closed, the given environment only, in a process group of its own.
///
/// The time limit covers the whole run, reading its output included, not only the
/// direct child; at the limit its whole process group is killed. A background child
/// that keeps stdout open (`sh -c 'sleep 16 & echo KEY'`) does not hold the key: it is
/// read when the command itself exits. Process waits and pipe reads are
/// swift-subprocess's, off the event loops.
struct KeyCommand: Sendable {
    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var timeout: Duration
    /// A key is a line of text; more output than this is an error, not a key.
    static let maxOutputBytes = 64 * 1024

    /// Errors name the provider and the executable, never the command's output.
    func run(provider: String) async throws(CredentialResolver.Failure) -> Secret {
        func failure(_ what: String) -> CredentialResolver.Failure {
            CredentialResolver.Failure(message: "provider '\(provider)': api_key_cmd \(self.executable) \(what)")
        }
        let started = ProcessGroup()
        let outcome: Outcome
        do {
            outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
                group.addTask {
                    var options = PlatformOptions()
                    // Its own process group (pgid = its pid), so that the limit can end what it started too.
                    options.processGroupID = 0
                    let result = try await Subprocess.run(
                        self.executable.contains("/") ? .path(FilePath(self.executable)) : .name(self.executable),
                        arguments: Arguments(self.arguments),
                        environment: .custom(Dictionary(uniqueKeysWithValues: self.environment.map { (Environment.Key(rawValue: $0.key)!, $0.value) })),
                        platformOptions: options,
                        input: .none,
                        output: .string(limit: Self.maxOutputBytes),
                        error: .discarded
                    ) { execution in
                        started.record(execution.processIdentifier.value)
                    }
                    return .finished(result.terminationStatus, result.standardOutput)
                }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    return .timedOut
                }
                let first = try await group.next()!
                if case .timedOut = first { started.killAll() }
                group.cancelAll()
                return first
            }
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            started.killAll()
            throw failure("printed more than \(Self.maxOutputBytes) bytes")
        } catch {
            started.killAll()
            if Task.isCancelled { throw CredentialResolver.Failure(message: "provider '\(provider)': api_key_cmd was cancelled") }
            throw failure("could not be run: \(Self.describe(error))")
        }
        switch outcome {
        case .timedOut:
            throw failure("did not finish within \(self.timeout)")
        case .finished(let status, let output):
            switch status {
            case .exited(0):
                break
            case .exited(let code):
                throw failure("exited with status \(code)")
            case .signaled(let signal):
                throw failure("was killed by signal \(signal)")
            }
            let value = output.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw failure("printed nothing") }
            return Secret(value)
        }
    }

    enum Outcome: Sendable {
        case finished(TerminationStatus, String)
        case timedOut
    }

    /// The error's kind only: a launch error's text could quote the command's arguments.
    static func describe(_ error: any Error) -> String {
        if let error = error as? SubprocessError {
            return error.underlyingError.map { "\($0)" } ?? "\(error.code)"
        }
        return String(describing: type(of: error))
    }
}

/// The process group a key command runs in, once it is known, for killing at the limit.
private final class ProcessGroup: Sendable {
    private struct State {
        var pid: pid_t?
        /// Set by `killAll()`: a process recorded afterwards is killed as it is recorded. Under
        /// load the limit can pass before the spawned command's pid is known (seen: a 200 ms
        /// limit that waited out the whole `sleep 5`).
        var killed = false
    }

    private let state = NIOLockedValueBox(State())

    func record(_ pid: pid_t) {
        let kill = self.state.withLockedValue { state -> Bool in
            state.pid = pid
            return state.killed
        }
        if kill { Glibc.kill(-pid, SIGKILL) }
    }

    func killAll() {
        let pid = self.state.withLockedValue { state -> pid_t? in
            state.killed = true
            return state.pid
        }
        if let pid { kill(-pid, SIGKILL) }
    }
}
