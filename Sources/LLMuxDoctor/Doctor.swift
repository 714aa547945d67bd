import Foundation
import LLMuxClient
import LLMuxConfig
import LLMuxUpstream
import LLMuxWire
package import Logging

/// `llmux doctor`: the config, the socket and its modes, the daemon, the systemd units, and
/// each provider's key and reachability, as findings in that order.
package struct Doctor: Sendable {
    package var environment: [String: String]
    package var configPath: String?
    package var socketPath: String?
    /// Skips the call to each provider (keys are still checked).
    package var offline: Bool
    package var logger: Logger

    package init(environment: [String: String], configPath: String?, socketPath: String?, offline: Bool, logger: Logger) {
        self.environment = environment
        self.configPath = configPath
        self.socketPath = socketPath
        self.offline = offline
        self.logger = logger
    }

    package func run() async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let config = self.checkConfig(&findings)
        findings += await self.checkSocketAndDaemon()
        findings += self.checkUnits()
        if let config {
            let resolver = CredentialResolver(environment: self.environment, logger: self.logger)
            let clients = UpstreamHTTPClients(connectTimeoutMs: 5_000, environment: self.environment)
            let probe = ProviderProbe(clients: clients)
            for name in config.providers.keys.sorted() {
                guard let provider = config.providers[name] else { continue }
                findings += await probe.check(provider, resolver: resolver, offline: self.offline)
            }
            try? await clients.shutdown()
        }
        return findings
    }

    private func checkConfig(_ findings: inout [DoctorFinding]) -> DaemonConfig? {
        let loader = ConfigLoader(environment: self.environment)
        let path = self.configPath ?? loader.defaultConfigPath()
        do {
            let config = try loader.load(explicitPath: self.configPath)
            let counts = "\(config.providers.count) providers, \(config.models.count) models, \(config.routes.count) routes"
            if let path, FileManager.default.fileExists(atPath: path) {
                findings.append(DoctorFinding(.ok, "config", "\(path): \(counts)"))
                if config.http.listen == nil {
                    findings.append(
                        DoctorFinding(
                            .note, "config", "the HTTP front on TCP is off (tools that need a base URL use it)", fix: "add http_listen = \"127.0.0.1:8411\""))
                }
            } else {
                findings.append(
                    DoctorFinding(.note, "config", "no config file (\(path ?? "no XDG_CONFIG_HOME or HOME")): the zero-config environment, \(counts)"))
            }
            if config.defaultModel == nil {
                findings.append(DoctorFinding(.warning, "config", "no default model: `llmux PROMPT` needs -m", fix: "set default_model"))
            }
            return config
        } catch {
            findings.append(DoctorFinding(.failure, "config", "\(error)", fix: "llmuxd --check-config shows the same; fix the line it names"))
            return nil
        }
    }

    private func checkSocketAndDaemon() async -> [DoctorFinding] {
        guard let path = SocketPaths.resolve(explicit: self.socketPath, environment: self.environment) else {
            return [DoctorFinding(.failure, "socket", SocketPaths.missingRuntimeDirectoryMessage)]
        }
        var findings: [DoctorFinding] = []
        let directory = (path as NSString).deletingLastPathComponent
        var info = stat()
        if stat(directory, &info) == 0 {
            let mode = info.st_mode & 0o777
            if info.st_uid != getuid() {
                findings.append(DoctorFinding(.failure, "socket", "\(directory) belongs to uid \(info.st_uid), not you (\(getuid()))"))
            } else if mode & 0o077 != 0 {
                findings.append(
                    DoctorFinding(
                        .failure, "socket", "\(directory) is mode \(String(mode, radix: 8)): others can reach your keys", fix: "chmod 700 \(directory)"))
            } else {
                findings.append(DoctorFinding(.ok, "socket", "\(directory) is yours, mode \(String(mode, radix: 8))"))
            }
        }
        guard FileManager.default.fileExists(atPath: path) else {
            findings.append(DoctorFinding(.note, "daemon", "not running (no \(path)): llmux starts it on first use", fix: "or: llmux service install --enable"))
            return findings
        }
        do {
            let status = try await LLMuxConnection.withConnection(socketPath: path) { connection -> DaemonStatus? in
                try await connection.send(.status(id: "doctor"))
                for try await received in connection.frames {
                    if case .status(_, let status) = received.frame { return status }
                    if case .error = received.frame { return nil }
                }
                return nil
            }
            if let status {
                findings.append(
                    DoctorFinding(
                        .ok, "daemon",
                        "llmuxd \(status.version) (pid \(status.pid)) on \(path): \(status.inFlight) in flight, \(status.requestsTotal) served"))
            } else {
                findings.append(DoctorFinding(.failure, "daemon", "\(path) answered without a status"))
            }
        } catch {
            findings.append(
                DoctorFinding(
                    .failure, "daemon", "\(path) exists but no llmuxd answers: \(error)", fix: "remove the stale socket or restart llmuxd"))
        }
        return findings
    }

    /// The user units, where systemd looks for them.
    private func checkUnits() -> [DoctorFinding] {
        let configHome = XDGDirectories.configHome(self.environment) ?? NSHomeDirectory() + "/.config"
        let places = [configHome + "/systemd/user", "/etc/systemd/user", "/usr/lib/systemd/user", "/usr/local/lib/systemd/user"]
        let found = places.filter { FileManager.default.fileExists(atPath: $0 + "/llmuxd.service") }
        guard let place = found.first else {
            return [DoctorFinding(.note, "systemd", "the user units are not installed", fix: "llmux service install --enable")]
        }
        let socket = FileManager.default.fileExists(atPath: place + "/llmuxd.socket")
        return [
            DoctorFinding(
                socket ? .ok : .warning, "systemd",
                socket ? "llmuxd.service and llmuxd.socket in \(place)" : "llmuxd.service in \(place) without llmuxd.socket",
                fix: socket ? nil : "llmux service install")
        ]
    }
}
