import Foundation
import LLMuxClient
import LLMuxDaemon

/// Runs the built executables (`llmux`, `llmuxd`) as a user would.
enum Executables {
    /// The folder holding the built products: the one this test binary lives in.
    static let directory: String = {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: own.appendingPathComponent("llmux").path) {
            return own.path
        }
        // A `.xctest` bundle directory: its products sit two levels up.
        var candidate = own
        for _ in 0..<3 {
            candidate = candidate.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("llmux").path) {
                return candidate.path
            }
        }
        return RepositoryPaths.root + "/.build/debug"
    }()

    static var llmux: String { directory + "/llmux" }
    static var llmuxd: String { directory + "/llmuxd" }
}

/// A started child process whose output goes to temporary files (no pipe can fill up).
/// Its exit is collected with `waitpid`, polled, so that many children can end at once.
final class ChildProcess: Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private let directory: String

    init(_ executable: String, _ arguments: [String], environment: [String: String], stdin: String? = nil) throws {
        self.directory = try TemporaryDirectory.make()
        self.stdoutPath = self.directory + "/stdout"
        self.stderrPath = self.directory + "/stderr"
        var input = "/dev/null"
        if let stdin {
            input = self.directory + "/stdin"
            try stdin.write(toFile: input, atomically: true, encoding: .utf8)
        }
        self.pid = try ProcessSpawner.spawn(
            executable,
            arguments: arguments,
            environment: environment,
            stdin: input,
            stdout: self.stdoutPath,
            stderr: self.stderrPath
        )
    }

    /// The exit status, or minus the signal number; a process still running after `timeout` is killed.
    func wait(timeout: Duration = .seconds(20)) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(self.pid, &status, WNOHANG)
            if result == self.pid { break }
            if result < 0 { return -255 }
            if ContinuousClock.now > deadline { kill(self.pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : -signal
    }

    var stdout: String { (try? String(contentsOfFile: self.stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: self.stderrPath, encoding: .utf8)) ?? "" }

    /// Runs to completion and returns (status, stdout, stderr).
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        stdin: String? = nil,
        timeout: Duration = .seconds(20)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdin: stdin)
        let status = await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    deinit {
        TemporaryDirectory.remove(self.directory)
    }
}

/// A minimal environment: no provider keys from the machine running the tests.
func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    environment.merge(extra) { _, new in new }
    return environment
}

/// Whether a daemon answers on `path` within `timeout` (generous: a debug build on a busy 2-core machine starts slowly).
func waitUntilAnswering(_ path: String, timeout: Duration = .seconds(20)) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if SocketLocation.isAnswering(path) { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

/// The path of a system program from Debian's packages (`/usr/bin` or `/bin`), if installed.
func systemTool(_ name: String) -> String? {
    ["/usr/bin/" + name, "/bin/" + name].first { FileManager.default.isExecutableFile(atPath: $0) }
}
