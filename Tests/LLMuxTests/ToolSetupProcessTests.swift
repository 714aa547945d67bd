import Foundation
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// `llmux setup` and `llmux run` as a user runs them, in a temporary home: each file it writes
/// is read back by that format's own reader (PyYAML, Emacs, Neovim, bash), simonw's `llm`
/// answers through the HTTP front with the configuration `llmux setup llm --write` made, and
/// `llmux run` hands a tool the variables and arguments it needs.
@Suite("llmux setup and run", .tags(.processes), .fullTierOnly)
struct ToolSetupProcessTests {
    /// A model name with a quote of each kind and a backslash: every format must escape it.
    static let model = #"my"mo'del\x"#

    struct Home {
        let path: String
        var environment: [String: String] {
            cleanEnvironment(["HOME": self.path, "XDG_CONFIG_HOME": self.path + "/.config", "XDG_STATE_HOME": self.path + "/state"])
        }
    }

    static func withHome<R>(_ body: (Home) async throws -> R) async throws -> R {
        let path = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(path) }
        return try await body(Home(path: path))
    }

    static func llmux(_ arguments: [String], _ environment: [String: String], stdin: String? = nil) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        try await ChildProcess.run(Executables.llmux, arguments, environment: environment, stdin: stdin)
    }

    /// `llmux setup TOOL --write` for a fixed address and the awkward model name.
    static func write(_ tool: String, _ home: Home) async throws -> String {
        let result = try await Self.llmux(["setup", tool, "--write", "--base-url", "http://127.0.0.1:8411", "--model", Self.model], home.environment)
        #expect(result.status == 0, "\(tool): \(result.stderr)")
        #expect(result.stdout.hasPrefix("wrote "), "\(tool): \(result.stdout)")
        return result.stdout
    }

    static var python: String? { OpenAISDKTests.python }

    /// A provider for the config files these tests write (a config file must name its providers).
    static let provider = "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"LOCAL_KEY\"\n"

    /// A YAML file as PyYAML reads it, turned into JSON.
    static func yaml(_ path: String) async throws -> JSONValue {
        let python = try #require(Self.python, "no .venv-test Python (with pyyaml)")
        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let result = try await ChildProcess.run(python, ["-c", script, path], environment: cleanEnvironment())
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONValue.parse(result.stdout)
    }

    @Test func withoutTheTCPFrontSetupSaysWhatToAdd() async throws {
        try await Self.withHome { home in
            try FileManager.default.createDirectory(atPath: home.path + "/.config/llmux", withIntermediateDirectories: true)
            try ("default_model = \"local/qwen\"\n" + Self.provider).write(toFile: home.path + "/.config/llmux/config.toml", atomically: true, encoding: .utf8)
            let result = try await Self.llmux(["setup", "claude-code"], home.environment)
            #expect(result.status == 78)
            #expect(result.stderr.contains("http_listen = \"127.0.0.1:8411\""), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            let unknown = try await Self.llmux(["setup", "vscode"], home.environment)
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains("unknown tool 'vscode'"), "\(unknown.stderr)")
        }
    }

    @Test func theConfigsAddressAndDefaultModelAreUsed() async throws {
        try await Self.withHome { home in
            try FileManager.default.createDirectory(atPath: home.path + "/.config/llmux", withIntermediateDirectories: true)
            let config = """
                http_listen = "0.0.0.0:9123"
                http_allow_remote = true
                default_model = "local/qwen"
                """ + "\n" + Self.provider
            try config.write(toFile: home.path + "/.config/llmux/config.toml", atomically: true, encoding: .utf8)
            let result = try await Self.llmux(["setup", "shell"], home.environment)
            #expect(result.status == 0, "\(result.stderr)")
            // A wildcard listen address is reached on loopback; the token is the one `llmux token` prints.
            #expect(result.stdout.contains("export OPENAI_BASE_URL='http://127.0.0.1:9123/v1'"), "\(result.stdout)")
            let token = try await Self.llmux(["token"], home.environment).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!token.isEmpty)
            #expect(result.stdout.contains("export ANTHROPIC_AUTH_TOKEN='\(token)'"))
            let codex = try await Self.llmux(["setup", "codex"], home.environment)
            #expect(codex.stdout.contains(#"model = "local/qwen""#), "\(codex.stdout)")
        }
    }

    @Test(.enabled(if: ToolSetupProcessTests.python != nil || OpenAISDKTests.required, "no .venv-test Python"))
    func yamlFilesReadBackAsTheToolsExpect() async throws {
        try await Self.withHome { home in
            _ = try await Self.write("aider", home)
            let aider = try await Self.yaml(home.path + "/.aider.conf.yml")
            #expect(aider["openai-api-base"] == "http://127.0.0.1:8411/v1")
            #expect(aider["model"]?.stringValue == "openai/" + Self.model)
            #expect(aider["openai-api-key"]?.stringValue?.hasPrefix("llmux-") == true)

            _ = try await Self.write("continue", home)
            let continueConfig = try await Self.yaml(home.path + "/.continue/config.yaml")
            #expect(continueConfig["schema"] == "v1")
            let model = continueConfig["models"]?.arrayValue?.first
            #expect(model?["provider"] == "openai")
            #expect(model?["model"]?.stringValue == Self.model)
            #expect(model?["apiBase"] == "http://127.0.0.1:8411/v1")
            #expect(model?["roles"]?.arrayValue?.contains("chat") == true)

            _ = try await Self.write("llm", home)
            let llm = try await Self.yaml(home.path + "/.config/io.datasette.llm/extra-openai-models.yaml")
            #expect(llm.arrayValue?.first?["model_id"] == "llmux")
            #expect(llm.arrayValue?.first?["model_name"]?.stringValue == Self.model)
        }
    }

    @Test(.enabled(if: EditorClientTests.emacs != nil || EditorClientTests.required, "emacs is not installed"))
    func gptelFileLoadsInEmacs() async throws {
        let emacs = try #require(EditorClientTests.emacs)
        try await Self.withHome { home in
            _ = try await Self.write("gptel", home)
            // A stand-in gptel that records what the file gives it.
            let probe = """
                (progn
                  (defvar probe-args nil)
                  (defvar gptel-backend nil)
                  (defvar gptel-model nil)
                  (defun gptel-make-openai (name &rest args) (setq probe-args (cons name args)) 'the-backend)
                  (provide 'gptel)
                  (load (expand-file-name "~/.emacs.d/llmux-gptel.el") nil t)
                  (princ (format "%s\\n%s\\n%s\\n%s\\n%s\\n%s\\n%s\\n"
                                 (car probe-args) (plist-get (cdr probe-args) :host) (plist-get (cdr probe-args) :endpoint)
                                 (symbol-name (car (plist-get (cdr probe-args) :models)))
                                 (symbol-name gptel-model) gptel-backend (functionp (plist-get (cdr probe-args) :key)))))
                """
            let result = try await ChildProcess.run(emacs, ["--batch", "-Q", "--eval", probe], environment: home.environment, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout.split(separator: "\n").map(String.init)
                    == ["llmux", "127.0.0.1:8411", "/v1/chat/completions", Self.model, Self.model, "the-backend", "t"], "\(result.stdout)")
        }
    }

    @Test(.enabled(if: EditorClientTests.nvim != nil || EditorClientTests.required, "nvim is not installed"))
    func codecompanionModuleLoadsInNeovim() async throws {
        let nvim = try #require(EditorClientTests.nvim)
        try await Self.withHome { home in
            _ = try await Self.write("codecompanion", home)
            let probe = home.path + "/probe.lua"
            let script = """
                package.path = "\(home.path)/.config/nvim/lua/?.lua;" .. package.path
                package.preload["codecompanion.adapters"] = function()
                  return { extend = function(base, opts) return { base = base, opts = opts } end }
                end
                local options = require("llmux_codecompanion")
                local adapter = options.adapters.http.llmux()
                local out = io.open("\(home.path)/probe.out", "w")
                out:write(adapter.base, "\\n", adapter.opts.env.url, "\\n", adapter.opts.env.api_key, "\\n",
                  adapter.opts.env.chat_url, "\\n", adapter.opts.schema.model.default, "\\n", options.interactions.chat.adapter, "\\n")
                out:close()
                """
            try script.write(toFile: probe, atomically: true, encoding: .utf8)
            let result = try await ChildProcess.run(
                nvim, ["--headless", "-u", "NONE", "-i", "NONE", "-c", "luafile \(probe)", "-c", "qa!"], environment: home.environment, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            let out = try String(contentsOfFile: home.path + "/probe.out", encoding: .utf8)
            #expect(
                out.split(separator: "\n").map(String.init)
                    == ["openai_compatible", "http://127.0.0.1:8411", "cmd:llmux token", "/v1/chat/completions", Self.model, "llmux"], "\(out)")
        }
    }

    @Test func shellExportsEvaluateInBash() async throws {
        try await Self.withHome { home in
            let setup = try await Self.llmux(["setup", "shell", "--base-url", "http://127.0.0.1:8411/", "--model", Self.model], home.environment)
            #expect(setup.status == 0, "\(setup.stderr)")
            try setup.stdout.write(toFile: home.path + "/exports", atomically: true, encoding: .utf8)
            let result = try await ChildProcess.run(
                "/bin/bash", ["-c", #"eval "$(cat "$HOME/exports")"; printf '%s\n' "$OPENAI_BASE_URL" "$ANTHROPIC_BASE_URL" "$LLMUX_API_KEY""#],
                environment: home.environment)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.prefix(2) == ["http://127.0.0.1:8411/v1", "http://127.0.0.1:8411"], "\(result.stdout)")
            #expect(lines.last?.hasPrefix("llmux-") == true)
        }
    }

    @Test func runHandsTheToolItsVariablesAndArguments() async throws {
        try await Self.withHome { home in
            // A stand-in aider on PATH that prints what it was given.
            let bin = home.path + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let fake = "#!/bin/sh\nprintf '%s\\n' \"$OPENAI_API_BASE\" \"$OPENAI_API_KEY\" \"$@\"\nexit 7\n"
            #expect(FileManager.default.createFile(atPath: bin + "/aider", contents: Data(fake.utf8), attributes: [.posixPermissions: 0o755]))
            var environment = home.environment
            environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            let result = try await Self.llmux(["run", "aider", "--base-url", "http://127.0.0.1:8411", "--model", "fast", "--", "--yes", "a b"], environment)
            #expect(result.status == 7, "the tool's exit status is llmux run's: \(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 6, "\(result.stdout)")
            #expect(lines.first == "http://127.0.0.1:8411/v1")
            #expect(lines.dropFirst().first?.hasPrefix("llmux-") == true)
            #expect(Array(lines.dropFirst(2)) == ["--model", "openai/fast", "--yes", "a b"])

            let shell = try await Self.llmux(
                ["run", "shell", "--base-url", "http://127.0.0.1:8411", "--model", "m", "--", "/bin/sh", "-c", "echo $ANTHROPIC_BASE_URL"], environment)
            #expect(shell.stdout == "http://127.0.0.1:8411\n", "\(shell.stderr)")

            let missing = try await Self.llmux(["run", "claude-code", "--base-url", "http://127.0.0.1:8411", "--model", "m"], environment)
            #expect(missing.status == 127)
            #expect(missing.stderr.contains("cannot start claude"), "\(missing.stderr)")

            let editor = try await Self.llmux(["run", "gptel", "--base-url", "http://127.0.0.1:8411", "--model", "m"], environment)
            #expect(editor.status == 2)
            #expect(editor.stderr.contains("llmux setup gptel --write"), "\(editor.stderr)")
        }
    }

    static let aider = RepositoryPaths.root + "/.venv-aider/bin/aider"

    /// aider (its own virtual environment, .venv-aider: it pins an older openai than the SDK
    /// tests use), configured only by `llmux setup aider --write`, sends its chat through the
    /// HTTP front: the token and the `openai/` model prefix are right.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: ToolSetupProcessTests.aider) || OpenAISDKTests.required))
    func aiderSendsItsChatThroughTheFront() async throws {
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            let base = try #require(daemon.httpBaseURL)
            let work = daemon.directory + "/work"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let environment = cleanEnvironment(["HOME": daemon.directory, "XDG_CONFIG_HOME": daemon.directory + "/config", "TERM": "dumb"])
            let setup = try await Self.llmux(["setup", "aider", "--write", "--base-url", base, "--model", "mock/default"], environment)
            #expect(setup.status == 0, "\(setup.stderr)")
            let script =
                "cd \"$1\" && exec \"$2\" --message 'hello from aider' --no-git --yes-always --no-check-update --no-show-model-warnings --no-analytics --no-pretty"
            let answer = try await ChildProcess.run(
                "/bin/sh", ["-c", script, "sh", work, Self.aider], environment: environment, stdin: "", timeout: .seconds(120))
            #expect(answer.status == 0, "\(answer.stdout)\n\(answer.stderr)")
            let asked = daemon.mock.requests.filter { request in
                request.body?["messages"]?.arrayValue?.contains { $0["content"]?.stringValue?.contains("hello from aider") == true } == true
            }
            #expect(asked.count >= 1, "the mock saw \(daemon.mock.requests.map { $0.uri })")
            #expect(asked.first?.body?["model"] == "default")
            #expect(answer.stdout.contains("echo:"), "\(answer.stdout)")
        }
    }

    /// simonw's `llm`, installed in .venv-test, configured only by `llmux setup llm --write` and
    /// `llm keys set`, answers through the HTTP front from the mock upstream.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: RepositoryPaths.root + "/.venv-test/bin/llm") || OpenAISDKTests.required))
    func llmAnswersThroughTheFront() async throws {
        let llm = RepositoryPaths.root + "/.venv-test/bin/llm"
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            let base = try #require(daemon.httpBaseURL)
            let token = try #require(daemon.token)
            let userPath = daemon.directory + "/llm"
            let environment = cleanEnvironment([
                "HOME": daemon.directory, "XDG_CONFIG_HOME": daemon.directory + "/config", "LLM_USER_PATH": userPath,
            ])
            let setup = try await Self.llmux(["setup", "llm", "--write", "--base-url", base, "--model", "mock/default"], environment)
            #expect(setup.status == 0, "\(setup.stderr)")
            #expect(setup.stderr.contains("llm keys set llmux"))
            let keys = try await ChildProcess.run(llm, ["keys", "set", "llmux"], environment: environment, stdin: token + "\n")
            #expect(keys.status == 0, "\(keys.stderr)")
            let answer = try await ChildProcess.run(llm, ["-m", "llmux", "--no-log", "hello from llm"], environment: environment, timeout: .seconds(60))
            #expect(answer.status == 0, "\(answer.stderr)")
            #expect(answer.stdout == "echo: hello from llm\n")
            #expect(daemon.mock.requests.last?.body?["model"] == "default")
        }
    }
}
