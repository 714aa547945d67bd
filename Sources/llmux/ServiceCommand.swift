import ArgumentParser
import Foundation
import LLMuxClient
import LLMuxConfig

/// `llmux service install`: sets llmuxd up as a systemd user service.
struct Service: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage llmuxd as a systemd user service.",
        subcommands: [Install.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write llmuxd.socket and llmuxd.service to $XDG_CONFIG_HOME/systemd/user.",
            discussion: "ExecStart points at the llmuxd beside this llmux (else the one in PATH)."
        )

        @Flag(help: "Also run: systemctl --user daemon-reload && systemctl --user enable --now llmuxd.socket")
        var enable = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let daemon = DaemonLauncher.locateDaemon(environment: environment) else {
                Output.error("llmuxd was not found next to llmux or in PATH; install it first (scripts/quickstart.sh)")
                throw ExitCode(ExitStatus.config)
            }
            guard let directory = Self.unitDirectory(environment) else {
                Output.error("neither XDG_CONFIG_HOME nor HOME is set; cannot find the systemd user unit folder")
                throw ExitCode(ExitStatus.config)
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let service = UserUnits.service(execStart: daemon)
                for (name, text) in [(UserUnits.socketName, UserUnits.socket), (UserUnits.serviceName, service)] {
                    let path = directory + "/" + name
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
                    Output.line("wrote \(path)")
                }
            } catch {
                Output.error("cannot write the units to \(directory): \(error.localizedDescription)")
                throw ExitCode(ExitStatus.failure)
            }
            let commands = [["daemon-reload"], ["enable", "--now", UserUnits.socketName]]
            guard self.enable else {
                Output.line("enable it with: systemctl --user daemon-reload && systemctl --user enable --now \(UserUnits.socketName)")
                return
            }
            for arguments in commands {
                let status = await Self.systemctl(arguments, environment: environment)
                guard status == 0 else {
                    Output.error("systemctl --user \(arguments.joined(separator: " ")) failed (exit \(status)); is a systemd user session running?")
                    throw ExitCode(ExitStatus.failure)
                }
            }
            Output.line("llmuxd.socket is enabled and listening")
        }

        static func unitDirectory(_ environment: [String: String]) -> String? {
            XDGDirectories.configHome(environment).map { $0 + "/systemd/user" }
        }

        /// Runs `systemctl --user ARGS` (its output goes to ours) and returns its exit status.
        static func systemctl(_ arguments: [String], environment: [String: String]) async -> Int32 {
            let candidates = ["/usr/bin/systemctl", "/bin/systemctl"]
            guard let systemctl = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return 127 }
            guard let pid = try? ProcessSpawner.spawn(systemctl, arguments: ["--user"] + arguments, environment: environment, stdout: "/dev/stderr")
            else { return 126 }
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                try? await Task.sleep(for: .milliseconds(20))
            }
            let signal = status & 0x7f
            return signal == 0 ? (status >> 8) & 0xff : 128 + signal
        }
    }
}
