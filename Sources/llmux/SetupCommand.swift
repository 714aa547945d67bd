import ArgumentParser
import Foundation
import LLMuxConfig
import LLMuxSetup

/// What `setup` and `run` share: which tool, and where it should reach llmux.
struct ToolOptions: ParsableArguments {
    @Argument(help: "The tool: \(SetupTool.allCases.map(\.rawValue).joined(separator: ", ")).")
    var tool: String

    @Option(name: .shortAndLong, help: "Model or route name the tool asks for (default: the config's default_model).")
    var model: String?

    @Option(name: .long, help: "The HTTP front's address, http://HOST:PORT (default: http_listen from the config).")
    var baseURL: String?

    @Option(name: .long, help: "Config file (default: $LLMUX_CONFIG, else $XDG_CONFIG_HOME/llmux/config.toml).")
    var config: String?

    func validate() throws {
        guard SetupTool(rawValue: self.tool) != nil else {
            throw ValidationError(
                "unknown tool '\(self.tool)' (known: \(SetupTool.allCases.map(\.rawValue).joined(separator: ", "))); "
                    + "for a prompt that starts with this word, use `llmux chat ...`"
            )
        }
    }

    var setupTool: SetupTool { SetupTool(rawValue: self.tool) ?? .shell }

    /// The endpoint from the options and the config, or a message saying what to fix (exit 78).
    func endpoint() -> Result<SetupEndpoint, ToolSetupFailure> {
        let environment = ProcessInfo.processInfo.environment
        let loader = ConfigLoader(environment: environment)
        let config: DaemonConfig
        do {
            config = try loader.load(explicitPath: self.config)
        } catch {
            return .failure(ToolSetupFailure("\(error)"))
        }
        let baseURL: String
        if let given = self.baseURL {
            guard given.hasPrefix("http://") || given.hasPrefix("https://") else {
                return .failure(ToolSetupFailure("--base-url must be http://HOST:PORT, not '\(given)'"))
            }
            baseURL = given.hasSuffix("/") ? String(given.dropLast()) : given
        } else if let listen = config.http.listen {
            // A wildcard listen address is reached on loopback.
            let host = ["0.0.0.0", "::", "[::]"].contains(listen.host) ? "127.0.0.1" : listen.host
            baseURL = "http://\(HostPort(host: host, port: listen.port))"
        } else {
            let file = self.config ?? loader.defaultConfigPath() ?? "~/.config/llmux/config.toml"
            return .failure(
                ToolSetupFailure(
                    "the HTTP front on TCP is off, and the tools reach llmux through it: add http_listen = \"127.0.0.1:8411\" "
                        + "to \(file), restart llmuxd (systemctl --user restart llmuxd), and run this again"
                )
            )
        }
        guard let model = self.model ?? config.defaultModel else {
            return .failure(ToolSetupFailure("no model: pass --model NAME or set default_model in the config"))
        }
        guard let tokenPath = APIToken.path(environment: environment) else {
            return .failure(ToolSetupFailure("neither XDG_CONFIG_HOME nor HOME is set: no place for the token file"))
        }
        do {
            let token = try APIToken.loadOrCreate(at: tokenPath)
            return .success(SetupEndpoint(baseURL: baseURL, token: token.reveal(), model: model))
        } catch {
            return .failure(ToolSetupFailure("\(error)"))
        }
    }
}

extension ToolOptions {
    /// The endpoint, or the message printed and exit 78.
    func endpointOrExit() throws -> SetupEndpoint {
        switch self.endpoint() {
        case .success(let endpoint):
            return endpoint
        case .failure(let failure):
            Output.error(failure.message)
            throw ExitCode(ExitStatus.config)
        }
    }
}

struct ToolSetupFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print (or --write) the configuration that points a tool at llmux.",
        discussion: """
            The text goes to stdout, where the file is and what to do next to stderr. With --write the
            file in your home is created or merged (llmux's keys set, the rest kept where the format
            allows it), the change is printed, and the old file is kept as FILE.llmux-backup-STAMP.
            `eval "$(llmux setup shell)"` exports the variables that OpenAI and Anthropic clients read.
            """
    )

    @OptionGroup var options: ToolOptions

    @Flag(name: .long, help: "Write the configuration into the tool's file (a backup of the old one is kept).")
    var write = false

    func run() async throws {
        let endpoint = try self.options.endpointOrExit()
        let tool = self.options.setupTool
        let configuration = tool.configuration(for: endpoint)
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = tool.file(home: home, environment: environment)
        guard self.write else {
            Output.text(configuration.text)
            if let file { Output.note("\(tool.rawValue): \(file)") }
            if let next = configuration.next { Output.note("next: \(next)") }
            return
        }
        guard file != nil else {
            Output.error("\(tool.rawValue) has no file to write: eval \"$(llmux setup shell)\"")
            throw ExitCode(ExitStatus.usage)
        }
        let writer = ConfigurationWriter(home: home, environment: environment, stamp: Self.stamp())
        do {
            let outcome = try writer.write(configuration)
            if outcome.change.isEmpty {
                Output.line("\(outcome.path) already holds this configuration")
            } else {
                Output.line("wrote \(outcome.path)" + (outcome.backup.map { " (the old file is \($0))" } ?? ""))
                for line in outcome.change { Output.line(line) }
            }
            if let next = configuration.next { Output.note("next: \(next)") }
        } catch let refusal as ConfigurationMerge.Refusal {
            Output.error(refusal.description)
            Output.text(configuration.text)
            throw ExitCode(ExitStatus.failure)
        } catch {
            Output.error("\(error)")
            throw ExitCode(ExitStatus.failure)
        }
    }

    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: Date())
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a tool pointed at llmux: llmux run TOOL [-- ARGS].",
        discussion: """
            The tool starts in place of llmux with the variables (and, for aider, the --model) that
            `llmux setup TOOL` describes; its exit status is the tool's. `llmux run shell -- CMD ARGS`
            runs any command with the variables of `llmux setup shell`. 127: the tool is not on PATH.
            """
    )

    @OptionGroup var options: ToolOptions

    @Argument(parsing: .postTerminator, help: "Arguments for the tool (after --).")
    var arguments: [String] = []

    func run() async throws {
        let tool = self.options.setupTool
        var command: [String]
        if let executable = tool.executable {
            command = [executable]
        } else if tool == .shell {
            guard !self.arguments.isEmpty else {
                Output.error("llmux run shell needs a command: llmux run shell -- CMD ARGS")
                throw ExitCode(ExitStatus.usage)
            }
            command = []
        } else {
            Output.error("\(tool.rawValue) runs inside an editor: configure it with llmux setup \(tool.rawValue) --write")
            throw ExitCode(ExitStatus.usage)
        }
        let endpoint = try self.options.endpointOrExit()
        let configuration = tool.configuration(for: endpoint)
        command += configuration.arguments + self.arguments
        for (name, value) in configuration.environment { setenv(name, value, 1) }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        execvp(command[0], argv)
        let failed = errno
        for pointer in argv { free(pointer) }
        Output.error("cannot start \(command[0]): \(String(cString: strerror(failed)))" + (failed == ENOENT ? " (is it installed and on PATH?)" : ""))
        throw ExitCode(failed == ENOENT ? 127 : 126)
    }
}
