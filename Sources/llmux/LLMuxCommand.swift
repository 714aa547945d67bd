import ArgumentParser
import Foundation
import LLMuxClient
import LLMuxCommandLine
import LLMuxConfig
import LLMuxWire

/// `llmux`: the command-line client.
@main
struct LLMuxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmux",
        abstract: "Stream an answer from llmuxd to stdout.",
        discussion: """
            The prompt is the arguments, followed by standard input when it is not a terminal.

            Exit codes: 0 ok, 1 other failure, 2 usage, 69 daemon unreachable, \
            75 retryable upstream failure (try again later), 77 authentication, \
            78 configuration (unknown model, no default model), 130 interrupted.
            """,
        version: LLMuxVersion.current,
        subcommands: [
            Chat.self, Models.self, Status.self, UsageCommand.self, Reload.self, Ping.self, Token.self, Service.self, Setup.self, Run.self, DoctorCommand.self,
        ],
        defaultSubcommand: Chat.self
    )

    /// Like the default `main`, but usage errors exit with 2 (the README's contract), not 64.
    static func main() async {
        Output.ignoreBrokenPipe()
        await runExitingWithUsageStatus(Self.subcommandFirst(Array(CommandLine.arguments.dropFirst())), prefix: "llmux")
    }

    /// Options that take a value, so their value is not mistaken for a subcommand name.
    static let optionsWithValues: Set<String> = [
        "--socket", "-m", "--model", "-s", "--system", "--timeout-ms", "--temperature", "--max-tokens", "--since", "--by", "--config", "--base-url",
    ]

    /// `llmux --socket S ping` means the `ping` subcommand: move a subcommand
    /// name found as the first positional word to the front. A prompt that
    /// starts with such a word can be given after `--`.
    static func subcommandFirst(_ arguments: [String]) -> [String] {
        let names = Set(Self.configuration.subcommands.map { $0._commandName })
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { return arguments }
            if word.hasPrefix("-") {
                index += Self.optionsWithValues.contains(word) ? 2 : 1
                continue
            }
            guard names.contains(word), index > 0 else { return arguments }
            var reordered = arguments
            reordered.remove(at: index)
            reordered.insert(word, at: 0)
            return reordered
        }
        return arguments
    }
}

/// Options every subcommand shares.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "Socket path (default: $LLMUX_SOCKET, else $XDG_RUNTIME_DIR/llmux/llmux.sock).")
    var socket: String?

    @Flag(name: .long, help: "Do not start llmuxd when no daemon answers.")
    var noAutostart = false

    @Flag(name: .long, help: "Print the daemon's frames as received (NDJSON) instead of text.")
    var json = false
}

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a prompt and stream the answer (the default).")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .shortAndLong, help: "Model, route or provider/model (default: the daemon's default model).")
    var model: String?

    @Option(name: .shortAndLong, help: "System prompt.")
    var system: String?

    @Option(name: .long, help: "Total time limit in milliseconds.")
    var timeoutMs: Int?

    @Option(name: .long, help: "Sampling temperature, passed to the provider.")
    var temperature: Double?

    @Option(name: .long, help: "Maximum output tokens, passed to the provider.")
    var maxTokens: Int?

    @Flag(name: .long, help: "Print the model's reasoning (thinking) to stderr as it arrives.")
    var showReasoning = false

    @Argument(help: "The prompt. Standard input, when piped, is appended to it.")
    var prompt: [String] = []

    func run() async throws {
        var parts: [String] = []
        let words = self.prompt.joined(separator: " ")
        if !words.isEmpty { parts.append(words) }
        if isatty(STDIN_FILENO) == 0 {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            let text = String(decoding: data, as: UTF8.self)
            if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { parts.append(text) }
        }
        guard !parts.isEmpty else {
            throw ValidationError("give a prompt as arguments or on standard input")
        }
        if let timeoutMs = self.timeoutMs, timeoutMs <= 0 {
            throw ValidationError("--timeout-ms must be positive")
        }
        var request = ChatRequest.userPrompt(
            id: "cli-\(getpid())",
            model: self.model,
            prompt: parts.joined(separator: "\n\n"),
            system: self.system
        )
        request.timeoutMs = self.timeoutMs
        if let temperature = self.temperature { request.options["temperature"] = .double(temperature) }
        if let maxTokens = self.maxTokens { request.options["max_tokens"] = .int(Int64(maxTokens)) }
        let outcome = await ChatRun(request: request, options: self.connection, showReasoning: self.showReasoning).execute()
        throw ExitCode(outcome)
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the models the daemon knows.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let code = await SimpleQuery(frame: .models(id: "models"), options: self.connection).execute { frame in
            guard case .models(_, let models, let defaultModel) = frame else { return false }
            for model in models {
                let mark = model.id == defaultModel ? " (default)" : ""
                if let route = model.route {
                    Output.line("\(model.id)\troute (\(route.strategy)): \(route.targets.joined(separator: ", "))\(mark)")
                } else {
                    Output.line("\(model.id)\t\(model.provider)/\(model.upstreamModel)\(mark)")
                }
            }
            if let defaultModel, !models.contains(where: { $0.id == defaultModel }) {
                Output.line("\(defaultModel)\t(default)")
            }
            return true
        }
        throw ExitCode(code)
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's state.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let code = await SimpleQuery(frame: .status(id: "status"), options: self.connection).execute { frame in
            guard case .status(_, let status) = frame else { return false }
            Output.line("llmuxd \(status.version), pid \(status.pid), up \(status.uptimeMs / 1000) s")
            Output.line("connections \(status.connections), in flight \(status.inFlight), requests \(status.requestsTotal)")
            Output.line("providers: \(status.providers.joined(separator: ", "))")
            if !status.targets.isEmpty {
                Output.line("targets:")
                Output.line("  target\tstate\tewma ttft\terrors (5 min)\tok/failed")
                for target in status.targets {
                    var state = target.state
                    if let retryIn = target.retryInMs { state += " (\(retryIn) ms)" }
                    let ewma = target.ewmaTTFTMs.map { "\($0) ms" } ?? "-"
                    Output.line("  \(target.target)\t\(state)\t\(ewma)\t\(target.recentErrors)\t\(target.successes)/\(target.failures)")
                }
            }
            if !status.budgets.isEmpty {
                Output.line("budgets:")
                for budget in status.budgets {
                    let period = budget.period == "day" ? "daily" : "monthly"
                    Output.line(
                        String(
                            format: "  %@ %@: $%.4f left of $%.2f ($%.4f spent, $%.4f reserved), resets %@",
                            budget.scope, period, budget.leftUSD, budget.limitUSD, budget.spentUSD, budget.reservedUSD, budget.resetsAt
                        )
                    )
                }
            }
            return true
        }
        throw ExitCode(code)
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the bearer token for the HTTP front on TCP (created on first use).",
        discussion: "The token lives in $XDG_CONFIG_HOME/llmux/token (mode 0600). Use it as OPENAI_API_KEY with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1."
    )

    func run() async throws {
        guard let path = APIToken.path(environment: ProcessInfo.processInfo.environment) else {
            Output.error("neither XDG_CONFIG_HOME nor HOME is set: no place for the token file")
            throw ExitCode(ExitStatus.config)
        }
        do {
            Output.line(try APIToken.loadOrCreate(at: path).reveal())
        } catch {
            Output.error("\(error)")
            throw ExitCode(ExitStatus.failure)
        }
    }
}

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the daemon re-read its configuration.",
        discussion: "An invalid file changes nothing: the error (file, line, key) is printed and the exit code is 78."
    )
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        var options = self.connection
        // Starting a daemon just to reload it makes no sense.
        options.noAutostart = true
        let code = await SimpleQuery(frame: .reload(id: "reload"), options: options).execute { frame in
            guard case .reloaded(_, let summary) = frame else { return false }
            Output.line(
                "reloaded \(summary.configPath ?? "the zero-config environment"): "
                    + "\(summary.providers) providers, \(summary.models) models, \(summary.routes) routes"
            )
            return true
        }
        throw ExitCode(code)
    }
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the daemon answers.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let started = ContinuousClock.now
        let code = await SimpleQuery(frame: .ping(id: "ping"), options: self.connection).execute { frame in
            guard case .pong = frame else { return false }
            let elapsed = ContinuousClock.now - started
            Output.line("pong in \(elapsed.formatted(.units(allowed: [.milliseconds], fractionalPart: .show(length: 2))))")
            return true
        }
        throw ExitCode(code)
    }
}
