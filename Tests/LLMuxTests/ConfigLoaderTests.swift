import Foundation
import LLMuxConfig
import Testing

@Suite("Configuration")
struct ConfigLoaderTests {
    let loader = ConfigLoader(environment: [:])

    @Test func fullConfigParses() throws {
        let text = """
            default_model = "fast"
            log_level = "debug"

            [timeouts]
            header_ms = 1000
            idle_ms = 0

            [providers.openai]
            base_url = "https://api.openai.com/v1"
            api_key_env = "OPENAI_API_KEY"

            [providers.local]
            kind = "openai"
            base_url = "http://127.0.0.1:8080/v1"
            http1_only = true

            [providers.vault]
            base_url = "https://example.invalid/v1"
            api_key_cmd = ["pass", "show", "llm/key"]

            [models.fast]
            provider = "openai"
            model = "gpt-4o-mini"
            """
        let config = try loader.parse(text, path: "config.toml")
        #expect(config.defaultModel == "fast")
        #expect(config.logLevel == "debug")
        #expect(config.timeouts.headerMs == 1000)
        #expect(config.timeouts.idleMs == nil, "0 turns a limit off")
        #expect(config.timeouts.totalMs == TimeoutConfig.default.totalMs)
        #expect(config.providers["openai"]?.keySource == .environment("OPENAI_API_KEY"))
        #expect(config.providers["local"]?.keySource == ProviderConfig.KeySource.none)
        #expect(config.providers["local"]?.http1Only == true)
        #expect(config.providers["vault"]?.keySource == .command(["pass", "show", "llm/key"]))
        #expect(config.models["fast"] == ModelConfig(name: "fast", provider: "openai", upstreamModel: "gpt-4o-mini"))
    }

    struct BadConfig: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int?
        var key: String?
        var fragment: String
        var testDescription: String { self.fragment }
    }

    @Test(arguments: [
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example/v1\"\napi_key_env = \"A\"\napi_key_file = \"/k\"\n", line: 1, key: "providers.a",
            fragment: "exactly one"),
        BadConfig(text: "[providers.a]\nbase_ur = \"https://x.example/v1\"\n", line: 2, key: "providers.a.base_ur", fragment: "unknown key"),
        BadConfig(text: "[providers.a]\nkind = \"openai\"\n", line: 1, key: "providers.a.base_url", fragment: "missing"),
        BadConfig(text: "[providers.a]\nbase_url = \"ftp://x\"\n", line: 2, key: "providers.a.base_url", fragment: "http"),
        BadConfig(
            text: "[providers.a]\nkind = \"magic\"\nbase_url = \"https://x.example\"\n", line: 2, key: "providers.a.kind", fragment: "unknown provider kind"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\napi_key_cmd = \"pass show\"\n", line: 3, key: "providers.a.api_key_cmd", fragment: "array"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n\n[models.m]\nprovider = \"b\"\nmodel = \"x\"\n", line: 5, key: "models.m.provider",
            fragment: "no provider named 'b'"),
        BadConfig(text: "default_model = \"nowhere\"\n[providers.a]\nbase_url = \"https://x.example\"\n", line: 1, key: "default_model", fragment: "neither"),
        BadConfig(
            text: "[timeouts]\nidle_ms = \"soon\"\n[providers.a]\nbase_url = \"https://x.example\"\n", line: 2, key: "timeouts.idle_ms",
            fragment: "milliseconds"),
        BadConfig(text: "this is = = not toml\n", line: 1, key: nil, fragment: "invalid TOML"),
        BadConfig(text: "log_level = \"loud\"\n[providers.a]\nbase_url = \"https://x.example\"\n", line: 1, key: "log_level", fragment: "must be one of"),
        BadConfig(text: "", line: nil, key: nil, fragment: "no providers"),
        BadConfig(
            text: "[providers.a]\nkind = \"anthropic\"\nbase_url = \"https://x.example\"\nfim_api = \"mistral\"\n", line: 4,
            key: "providers.a.fim_api", fragment: "kind = \"openai\" only"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\nfim_api = \"magic\"\n", line: 3, key: "providers.a.fim_api",
            fragment: "must be one of"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[models.m]\nprovider = \"a\"\nmodel = \"x\"\nserves = [\"dreams\"]\n", line: 6,
            key: "models.m.serves", fragment: "non-empty array"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\"]\nstrategy = \"random\"\n", line: 5,
            key: "routes.r.strategy", fragment: "unknown strategy"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"b/x\"]\n", line: 4, key: "routes.r.targets",
            fragment: "provider 'b'"),
        BadConfig(text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = []\n", line: 4, key: "routes.r.targets", fragment: "empty"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\", \"a/y\"]\nstrategy = \"weighted\"\nweights = [1]\n",
            line: 6, key: "routes.r.weights", fragment: "1 entries for 2 targets"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\", \"a/y\"]\nstrategy = \"hedge\"\n", line: 3,
            key: "routes.r.hedge_ms", fragment: "needs hedge_ms"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\"]\nfallback_on = [200]\n", line: 5,
            key: "routes.r.fallback_on", fragment: "400 to 599"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\", \"a/x\"]\n", line: 4, key: "routes.r.targets",
            fragment: "twice"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[routes.r]\ntargets = [\"a/x\"]\n[routes.r.timeouts]\nidle_ms = -1\n", line: 6,
            key: "routes.r.timeouts.idle_ms", fragment: "milliseconds"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[router]\nexploration = 2\n", line: 4, key: "router.exploration", fragment: "from 0 to 1"),
        BadConfig(text: "[providers.a]\nbase_url = \"https://x.example\"\nmax_inflight = 0\n", line: 3, key: "providers.a.max_inflight", fragment: "from 1"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[telemetry]\ntraces = \"yes\"\n", line: 4, key: "telemetry.traces",
            fragment: "true or false"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[telemetry]\nendpoint = \"localhost:4318\"\n", line: 4, key: "telemetry.endpoint",
            fragment: "http://"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[telemetry]\nprotocol = \"grpc\"\n", line: 4, key: "telemetry.protocol",
            fragment: "not gRPC"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[telemetry]\nexport_delay_ms = 0\n", line: 4, key: "telemetry.export_delay_ms",
            fragment: "positive"),
        BadConfig(
            text: "[providers.a]\nbase_url = \"https://x.example\"\n[telemetry]\nheaders = \"x\"\n", line: 4, key: "telemetry.headers", fragment: "unknown key"),
    ])
    func errorsNameFileLineAndKey(_ bad: BadConfig) {
        do {
            _ = try loader.parse(bad.text, path: "/home/u/.config/llmux/config.toml")
            Issue.record("accepted a bad config")
        } catch {
            #expect(error.file == "/home/u/.config/llmux/config.toml")
            #expect(error.line == bad.line)
            #expect(error.key == bad.key)
            #expect(error.message.contains(bad.fragment), "\(error.message)")
            #expect(error.description.hasPrefix("/home/u/.config/llmux/config.toml" + (bad.line.map { ":\($0)" } ?? "")))
        }
    }

    @Test func telemetryParses() throws {
        let text = """
            [providers.a]
            base_url = "https://x.example"
            [telemetry]
            traces = true
            endpoint = "http://127.0.0.1:4318"
            protocol = "http/json"
            service_name = "llmux-laptop"
            export_delay_ms = 1000
            export_timeout_ms = 3000
            """
        let config = try loader.parse(text, path: "/c.toml")
        #expect(
            config.telemetry
                == TelemetryConfig(
                    traces: true, endpoint: "http://127.0.0.1:4318", wireProtocol: .httpJSON, serviceName: "llmux-laptop", exportDelayMs: 1000,
                    exportTimeoutMs: 3000))
    }

    @Test func routesParse() throws {
        let text = """
            default_model = "smart"

            [router]
            breaker_failures = 3
            exploration = 0.1

            [providers.openai]
            base_url = "https://api.openai.com/v1"
            max_inflight = 4
            [providers.openai.timeouts]
            first_token_ms = 8000

            [providers.groq]
            base_url = "https://api.groq.com/openai/v1"

            [models.fast]
            provider = "groq"
            model = "llama-3.1-8b-instant"

            [routes.smart]
            targets = ["openai/gpt-4o", "fast"]
            retries = 1
            fallback_on = [429, 503]
            [routes.smart.timeouts]
            total_ms = 0

            [routes.spread]
            targets = ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]
            strategy = "weighted"
            weights = [2, 1.5]

            [routes.race]
            targets = ["openai/gpt-4o", "fast"]
            strategy = "hedge"
            hedge_ms = 1500
            """
        let config = try loader.parse(text, path: "config.toml")
        #expect(config.defaultModel == "smart")
        #expect(config.router.breakerFailures == 3)
        #expect(config.router.exploration == 0.1)
        #expect(config.providers["openai"]?.maxInflight == 4)
        #expect(config.providers["openai"]?.timeouts.firstTokenMs == 8000)
        let smart = try #require(config.routes["smart"])
        #expect(
            smart.targets == [RouteTarget(provider: "openai", upstreamModel: "gpt-4o"), RouteTarget(provider: "groq", upstreamModel: "llama-3.1-8b-instant")])
        #expect(smart.strategy == .fallback)
        #expect(smart.retries == 1)
        #expect(smart.fallbackStatuses == [429, 503])
        #expect(smart.timeouts.totalMs == 0)
        #expect(config.routes["spread"]?.strategy == .weighted([2, 1.5]))
        #expect(config.routes["race"]?.strategy == .hedge(delayMs: 1500))
        // Precedence: request, route, provider, global; 0 turns a limit off.
        let limits = config.timeouts.resolved(route: smart.timeouts, provider: config.providers["openai"]?.timeouts, requestTotalMs: nil)
        #expect(limits.totalMs == nil)
        #expect(limits.firstTokenMs == 8000)
        #expect(limits.headerMs == TimeoutConfig.default.headerMs)
        #expect(config.timeouts.resolved(route: smart.timeouts, provider: nil, requestTotalMs: 5000).totalMs == 5000)
    }

    @Test func theReadmeConfigExampleIsValid() throws {
        let readme = try String(contentsOfFile: RepositoryPaths.root + "/README.md", encoding: .utf8)
        // The first TOML block of the Configuration section (earlier ones configure other tools).
        let section = try #require(readme.range(of: "\n## Configuration\n"))
        let start = try #require(readme.range(of: "```toml\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "\n```", range: start.upperBound..<readme.endIndex))
        let config = try loader.parse(String(readme[start.upperBound..<end.lowerBound]), path: "README.md")
        #expect(config.routes["smart"]?.targets.count == 3)
        #expect(config.routes["race"]?.strategy == .hedge(delayMs: 800))
        #expect(config.http.listen == HostPort(host: "127.0.0.1", port: 8411))
        #expect(config.defaultModel == "smart")
    }

    @Test func zeroConfigFindsWellKnownKeysInPriorityOrder() {
        let config = ConfigLoader(environment: ["GROQ_API_KEY": "g", "OPENROUTER_API_KEY": "o"]).zeroConfig()
        #expect(Set(config.providers.keys) == ["groq", "openrouter"])
        #expect(config.defaultModel == "openrouter/openai/gpt-4o-mini")
        #expect(config.providers["groq"]?.keySource == .environment("GROQ_API_KEY"))
        #expect(!config.usesDemo)
    }

    @Test func zeroConfigHonoursOpenAIBaseURL() {
        let config = ConfigLoader(environment: ["OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"]).zeroConfig()
        #expect(config.providers["openai"]?.baseURL == "http://127.0.0.1:9/v1")
        #expect(config.defaultModel == "openai/gpt-4o-mini")
    }

    @Test func zeroConfigWithoutKeysServesTheDemo() {
        let config = ConfigLoader(environment: ["OPENAI_API_KEY": ""]).zeroConfig()
        #expect(config.usesDemo)
        #expect(config.defaultModel == DaemonConfig.demoModel)
        #expect(config.notes.contains { $0.contains("DEMO") })
    }

    @Test func explicitMissingFileIsAnError() {
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: [:]).load(explicitPath: "/nonexistent/llmux.toml")
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: ["LLMUX_CONFIG": "/nonexistent/llmux.toml"]).load(explicitPath: nil)
        }
    }

    @Test func secretsNeverPrint() {
        let secret = Secret("sk-live-abcdef123456")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(!"\([secret])".contains("abcdef"))
        #expect(secret.redact(in: "Incorrect API key provided: sk-live-abcdef123456.") == "Incorrect API key provided: <redacted>.")
    }

    @Test func credentialSources() async throws {
        let resolver = CredentialResolver(environment: ["K": " key-from-env \n"], logger: .init(label: "t"))
        let fromEnv = try await resolver.key(for: ProviderConfig(name: "p", baseURL: "http://x", keySource: .environment("K")))
        #expect(fromEnv?.reveal() == "key-from-env")
        let fromCommand = try await resolver.key(for: ProviderConfig(name: "c", baseURL: "http://x", keySource: .command(["echo", "cmd-key"])))
        #expect(fromCommand?.reveal() == "cmd-key")
        await #expect(throws: CredentialResolver.Failure.self) {
            try await resolver.key(for: ProviderConfig(name: "m", baseURL: "http://x", keySource: .environment("MISSING")))
        }
        await #expect(throws: CredentialResolver.Failure.self) {
            try await resolver.key(for: ProviderConfig(name: "f", baseURL: "http://x", keySource: .command(["false"])))
        }
    }

    @Test func keyCommandTimesOut() async throws {
        let resolver = CredentialResolver(environment: [:], commandTimeout: .milliseconds(200), logger: .init(label: "t"))
        let started = ContinuousClock.now
        do {
            _ = try await resolver.key(for: ProviderConfig(name: "slow", baseURL: "http://x", keySource: .command(["sleep", "60"])))
            Issue.record("a hanging api_key_cmd returned a key")
        } catch {
            #expect(error.message.contains("did not finish"))
        }
        // A hang detector, not a latency figure: without the limit the command runs 60 s; a
        // sanitized run with CPU-bound suites beside it was seen to take 10.5 s to get this far.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// The processes whose command line contains `marker`.
    static func processes(containing marker: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains(marker) == true
        }
    }

    @Test func aBackgroundChildThatHoldsStdoutDoesNotHoldTheKey() async throws {
        let resolver = CredentialResolver(environment: ["PATH": "/usr/bin:/bin"], commandTimeout: .seconds(10), logger: .init(label: "t"))
        let started = ContinuousClock.now
        let provider = ProviderConfig(name: "vault", baseURL: "http://x", keySource: .command(["/bin/sh", "-c", "sleep 40.25 & echo KEY"]))
        let key = try await resolver.key(for: provider)
        #expect(key?.reveal() == "KEY")
        // The background child sleeps 40 s; a read that waited for it would take that long. (A
        // sanitized run beside CPU-bound suites took 10.2 s here: the bound is a hang detector,
        // not a latency figure.)
        #expect(ContinuousClock.now - started < .seconds(30), "the read waited \(ContinuousClock.now - started) for the background child")
        for pid in Self.processes(containing: "40.25") { kill(pid_t(pid)!, SIGKILL) }
    }

    @Test func theLimitEndsTheCommandAndWhatItStarted() async throws {
        let resolver = CredentialResolver(environment: ["PATH": "/usr/bin:/bin"], commandTimeout: .milliseconds(500), logger: .init(label: "t"))
        let started = ContinuousClock.now
        do {
            let provider = ProviderConfig(name: "vault", baseURL: "http://x", keySource: .command(["/bin/sh", "-c", "sleep 40.375 & sleep 40.5; echo KEY"]))
            _ = try await resolver.key(for: provider)
            Issue.record("a command that outlived its limit returned a key")
        } catch {
            #expect(error.message.contains("did not finish"), "\(error.message)")
            #expect(error.message.contains("'vault'"), "\(error.message)")
        }
        // Without the limit the command runs 40.5 s; under ASan beside CPU-bound suites the whole
        // run took 10.4 s (a hang detector, not a latency figure).
        #expect(ContinuousClock.now - started < .seconds(30), "the limit took \(ContinuousClock.now - started)")
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.processes(containing: "40.375").isEmpty, "the command's background child is still running")
        #expect(Self.processes(containing: "40.5").isEmpty, "the command is still running")
    }

    @Test func twoRequestsAtOnceRunTheCommandOnce() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let log = directory + "/runs"
        let resolver = CredentialResolver(environment: ["PATH": "/usr/bin:/bin"], logger: .init(label: "t"))
        let provider = ProviderConfig(name: "once", baseURL: "http://x", keySource: .command(["/bin/sh", "-c", "echo run >> \(log); sleep 0.3; echo KEY"]))
        async let first = resolver.key(for: provider)
        async let second = resolver.key(for: provider)
        let keys = try await [first, second]
        #expect(keys.map { $0?.reveal() } == ["KEY", "KEY"])
        let runs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        #expect(runs == 1, "the command ran \(runs) times")
    }

    @Test func theCommandSeesAMinimalEnvironment() async throws {
        let environment = [
            "PATH": "/usr/bin:/bin", "HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000",
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus", "PASSWORD_STORE_DIR": "/home/u/.pw",
            "GNUPGHOME": "/home/u/.gnupg", "OPENAI_API_KEY": "sk-other-provider", "ANTHROPIC_API_KEY": "sk-ant-other",
            "LLMUX_CONFIG": "/x",
        ]
        let resolver = CredentialResolver(environment: environment, logger: .init(label: "t"))
        let printed = try await resolver.key(for: ProviderConfig(name: "env", baseURL: "http://x", keySource: .command(["/usr/bin/env"])))
        let names = Set((printed?.reveal() ?? "").split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) })
        #expect(names.isSuperset(of: ["PATH", "HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "PASSWORD_STORE_DIR", "GNUPGHOME"]), "\(names)")
        #expect(!names.contains("OPENAI_API_KEY") && !names.contains("ANTHROPIC_API_KEY") && !names.contains("LLMUX_CONFIG"), "\(names)")
    }
}

@Suite("Credential sources and secret files")
struct CredentialSourceTests {
    @Test func systemdCredentialsComeFirst() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        try "from-systemd\n".write(toFile: directory + "/openai", atomically: true, encoding: .utf8)
        let resolver = CredentialResolver(environment: ["CREDENTIALS_DIRECTORY": directory, "K": "from-env"], logger: .init(label: "t"))
        let key = try await resolver.key(for: ProviderConfig(name: "openai", baseURL: "http://x", keySource: .environment("K")))
        #expect(key?.reveal() == "from-systemd")
        // A provider without a credential file falls through to its configured source.
        let other = try await resolver.key(for: ProviderConfig(name: "groq", baseURL: "http://x", keySource: .environment("K")))
        #expect(other?.reveal() == "from-env")
    }

    @Test func inlineSecretsNeedAPrivateFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let path = directory + "/config.toml"
        try "[providers.a]\nbase_url = \"https://x.example\"\napi_key = \"sk-inline-secret\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loader = ConfigLoader(environment: [:])
        chmod(path, 0o644)
        do {
            _ = try loader.load(file: path)
            Issue.record("a world-readable file with an inline key was accepted")
        } catch {
            #expect(error.message.contains("chmod 600"))
            #expect(!error.description.contains("sk-inline-secret"))
        }
        chmod(path, 0o600)
        let config = try loader.load(file: path)
        guard case .inline(let secret)? = config.providers["a"]?.keySource else {
            Issue.record("no inline key")
            return
        }
        #expect(secret.reveal() == "sk-inline-secret")
        #expect(!"\(config)".contains("sk-inline-secret"))
    }
}
