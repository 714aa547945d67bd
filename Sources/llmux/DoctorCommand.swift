import ArgumentParser
import Foundation
import LLMuxDoctor
import Logging

/// `llmux doctor`: what is wrong with this machine's llmux, and what to do about it.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the config, the socket, the daemon, the systemd units and every provider's key and reachability.",
        discussion: """
            One line per check: ok, note (nothing broken), WARN or FAIL, with what to do below it. Keys are
            resolved as this shell sees them (a systemd-started llmuxd has the user manager's environment);
            each provider gets one GET of its model list unless --offline. Exit status 0 only when nothing
            is WARN or FAIL, 1 otherwise.
            """
    )

    @Option(name: .long, help: "Config file (default: $LLMUX_CONFIG, else $XDG_CONFIG_HOME/llmux/config.toml).")
    var config: String?

    @Option(name: .long, help: "Socket path (default: $LLMUX_SOCKET, else $XDG_RUNTIME_DIR/llmux/llmux.sock).")
    var socket: String?

    @Flag(name: .long, help: "Do not call the providers; check their keys only.")
    var offline = false

    func run() async throws {
        var logger = Logger(label: "llmux-doctor")
        logger.logLevel = .critical
        let doctor = Doctor(
            environment: ProcessInfo.processInfo.environment, configPath: self.config, socketPath: self.socket, offline: self.offline, logger: logger)
        let findings = await doctor.run()
        for finding in findings {
            let label: String
            switch finding.severity {
            case .ok: label = "ok  "
            case .note: label = "note"
            case .warning: label = "WARN"
            case .failure: label = "FAIL"
            }
            Output.line("\(label)  \(finding.subject): \(finding.message)")
            if let fix = finding.fix, finding.severity != .ok { Output.line("      fix: \(fix)") }
        }
        let problems = findings.filter(\.isProblem).count
        Output.line(problems == 0 ? "all is well" : "\(problems) problem\(problems == 1 ? "" : "s")")
        if problems > 0 { throw ExitCode(ExitStatus.failure) }
    }
}
