import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `llmuxd` in the background when no daemon answers, guarded by a
/// lock so that two clients starting at once never start two daemons.
public struct DaemonLauncher: Sendable {
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case executableNotFound
        case spawnFailed(String)
        case notAnswering(path: String, logPath: String?)

        public var description: String {
            switch self {
            case .executableNotFound:
                return "llmuxd was not found next to llmux or in PATH"
            case .spawnFailed(let reason):
                return "could not start llmuxd: \(reason)"
            case .notAnswering(let path, let logPath):
                return "started llmuxd, but it did not answer on \(path) within 2 s"
                    + (logPath.map { "; see \($0)" } ?? "")
            }
        }
    }

    public var socketPath: String
    public var environment: [String: String]
    public var timeout: Duration = .seconds(2)

    public init(socketPath: String, environment: [String: String]) {
        self.socketPath = socketPath
        self.environment = environment
    }

    /// Returns once something answers on the socket, starting llmuxd if needed.
    public func ensureRunning(isAnswering: @Sendable () async -> Bool) async throws(Failure) {
        if await isAnswering() { return }
        let directory = (self.socketPath as NSString).deletingLastPathComponent
        mkdir(directory, 0o700)
        let lockPath = directory + "/autostart.lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { if lockFD >= 0 { close(lockFD) } }
        if lockFD >= 0 {
            // Another client may be starting the daemon right now: wait for it.
            flock(lockFD, LOCK_EX)
        }
        if await isAnswering() { return }
        let logPath = self.logPath()
        try self.spawn(logPath: logPath)
        let deadline = ContinuousClock.now + self.timeout
        while ContinuousClock.now < deadline {
            if await isAnswering() { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        throw .notAnswering(path: self.socketPath, logPath: logPath)
    }

    /// `$XDG_STATE_HOME/llmux/llmuxd.log` (default `~/.local/state`).
    func logPath() -> String? {
        let base: String
        if let state = self.environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            base = state
        } else if let home = self.environment["HOME"], !home.isEmpty {
            base = home + "/.local/state"
        } else {
            return nil
        }
        let directory = base + "/llmux"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return directory + "/llmuxd.log"
    }

    /// llmuxd next to the running executable, else the first one in `PATH`.
    public static func locateDaemon(environment: [String: String]) -> String? {
        if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let sibling = (own as NSString).deletingLastPathComponent + "/llmuxd"
            if access(sibling, X_OK) == 0 { return sibling }
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/llmuxd"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private func spawn(logPath: String?) throws(Failure) {
        guard let executable = Self.locateDaemon(environment: self.environment) else { throw .executableNotFound }
        do {
            // Its own process group: the terminal's Ctrl-C for this client must not reach the daemon.
            _ = try ProcessSpawner.spawn(
                executable,
                arguments: ["--socket", self.socketPath],
                environment: self.environment,
                stdout: logPath ?? "/dev/null",
                ownProcessGroup: true
            )
        } catch {
            throw .spawnFailed(error.description)
        }
    }
}
