import ArgumentParser
import Foundation
import LLMuxCommandLine
import LLMuxConfig
import LLMuxDaemon
import LLMuxTelemetry
import LLMuxWire
import Logging

/// `llmuxd`: the per-user daemon.
@main
struct LLMuxDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmuxd",
        abstract: "The llmux daemon: streams LLM chat completions to local clients over a Unix socket.",
        discussion: """
            Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage, 73 the socket cannot be \
            created or another llmuxd already serves it, 78 configuration error.
            """,
        version: LLMuxVersion.current
    )

    /// Like the default `main`, but usage errors exit with 2, as documented, not 64.
    static func main() async {
        await runExitingWithUsageStatus(Array(CommandLine.arguments.dropFirst()), prefix: "llmuxd")
    }

    @Option(name: .long, help: "Socket path (default: $LLMUX_SOCKET, else $XDG_RUNTIME_DIR/llmux/llmux.sock).")
    var socket: String?

    @Option(name: .long, help: "Config file (default: $LLMUX_CONFIG, else $XDG_CONFIG_HOME/llmux/config.toml).")
    var config: String?

    @Flag(name: .long, help: "Validate the configuration, print a summary, and exit.")
    var checkConfig = false

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (default: config's log_level, else info).")
    var logLevel: String?

    func run() async throws {
        umask(0o077)
        _ = SystemdIntegration.disableCoreDumps()
        let environment = ProcessInfo.processInfo.environment
        let loaded: DaemonConfig
        do {
            loaded = try ConfigLoader(environment: environment).load(explicitPath: self.config)
        } catch {
            Self.fail("llmuxd: config error: \(error)", code: 78)
        }
        if self.checkConfig {
            let tracing: TracingSettings?
            do {
                tracing = try TracingStartup.settings(loaded, environment: environment)
            } catch {
                Self.fail("llmuxd: config error: \(error)", code: 78)
            }
            Self.printSummary(loaded, tracing: tracing)
            return
        }
        let levelName = self.logLevel ?? loaded.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            Self.fail("llmuxd: --log-level must be one of trace, debug, info, notice, warning, error, critical", code: 2)
        }
        // The journal when stderr is the journal stream, <N>-prefixed lines under systemd otherwise.
        let destination = DaemonLogging.destination(environment: environment, stderrIdentity: DaemonLogging.stderrIdentity())
        LoggingSystem.bootstrap { label in
            DaemonLogging.handler(label: label, destination: destination, level: level)
        }
        let logger = Logger(label: "llmuxd")
        for note in loaded.notes { logger.notice("\(note)") }

        let listen: DaemonRuntime.Listen
        let place: String
        // The HTTP front's socket lives beside the NDJSON socket.
        var httpSocket: String?
        do {
            if let descriptor = try SystemdIntegration.activatedSocket() {
                listen = .activated(descriptor: descriptor)
                place = "socket passed by systemd"
                httpSocket = (try? SocketLocation.resolve(explicit: nil, environment: environment)).map(Self.httpSocketPath(beside:))
            } else {
                let path = try SocketLocation.resolve(explicit: self.socket, environment: environment)
                listen = .path(path)
                place = path
                httpSocket = Self.httpSocketPath(beside: path)
            }
        } catch {
            Self.fail("llmuxd: \(error)", code: error.kind == .noRuntimeDirectory ? 78 : 73)
        }
        let explicitConfig = self.config
        let runtime = DaemonRuntime(
            config: loaded,
            listen: listen,
            environment: environment,
            logger: logger,
            // SIGTERM/SIGINT: graceful shutdown (requests in flight get shutdown_grace_ms to finish);
            // SIGHUP: reload the configuration.
            handlesSignals: true,
            // A reload reads the same place again: --config, $LLMUX_CONFIG, the default file, or the environment.
            configSource: { () throws(ConfigError) -> DaemonConfig in
                try ConfigLoader(environment: environment).load(explicitPath: explicitConfig)
            },
            httpSocketPath: httpSocket
        )
        if let limit = FileDescriptorLimit.raiseToHardLimit(), limit.after != limit.before {
            logger.debug("raised the open-file limit", metadata: ["from": "\(limit.before)", "to": "\(limit.after)"])
        }
        do {
            try await runtime.run {
                logger.info("ready", metadata: ["socket": "\(place)", "version": "\(LLMuxVersion.current)"])
            }
            logger.info("stopped")
        } catch let error as ConfigError {
            Self.fail("llmuxd: config error: \(error)", code: 78)
        } catch let error as SocketLocation.Failure {
            Self.fail("llmuxd: \(error)", code: 73)
        } catch let error as PrivateSocketFile.Failure {
            Self.fail("llmuxd: \(error)", code: 73)
        } catch {
            Self.fail("llmuxd: \(error)", code: 1)
        }
    }

    static func httpSocketPath(beside socket: String) -> String {
        (socket as NSString).deletingLastPathComponent + "/http.sock"
    }

    static func printSummary(_ config: DaemonConfig, tracing: TracingSettings?) {
        print("config: \(config.sourcePath ?? "none (zero-config from the environment)")")
        for note in config.notes { print("note: \(note)") }
        for provider in config.providers.values.sorted(by: { $0.name < $1.name }) {
            let key: String
            switch provider.keySource {
            case .none: key = "no key"
            case .environment(let name): key = "key from $\(name)"
            case .file(let path): key = "key from file \(path)"
            case .command(let argv): key = "key from command \(argv[0])"
            case .inline: key = "key in the config file"
            }
            let base = provider.isDemo ? "built-in demo upstream" : provider.baseURL
            print("provider \(provider.name): \(provider.kind.rawValue) at \(base), \(key)")
        }
        for model in config.models.values.sorted(by: { $0.name < $1.name }) {
            print("model \(model.name): \(model.provider)/\(model.upstreamModel)")
        }
        for route in config.routes.values.sorted(by: { $0.name < $1.name }) {
            print("route \(route.name) (\(route.strategy.name)): \(route.targets.map(\.description).joined(separator: ", "))")
        }
        print("default model: \(config.defaultModel ?? "none")")
        var http: [String] = []
        if config.http.unixSocket { http.append("http.sock beside the socket") }
        if let listen = config.http.listen { http.append("http://\(listen) (bearer token)") }
        print("HTTP front: \(http.isEmpty ? "off" : http.joined(separator: ", "))")
        if let tracing {
            let content = tracing.captureContent ? ", with prompt and completion text" : ""
            print("traces: \(tracing.loggableEndpoint) (\(tracing.wireProtocol.rawValue)\(content))")
        } else {
            print("traces: off")
        }
        print("config OK")
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(code)
    }
}
