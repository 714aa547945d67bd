import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// The `llmux` executable against a real daemon: output, exit codes, Ctrl-C.
@Suite("llmux command line", .tags(.processes), .fullTierOnly)
struct CLITests {
    func llmux(_ daemon: TestDaemon, _ arguments: [String], stdin: String? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(
            Executables.llmux, ["--socket", daemon.socketPath, "--no-autostart"] + arguments, environment: cleanEnvironment(), stdin: stdin)
    }

    @Test func streamsTextToStdoutAndExitsZero() async throws {
        try await TestDaemon.with { daemon in
            let result = try await llmux(daemon, ["hello", "world"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "echo: hello world")
            #expect(result.stderr.isEmpty)
        }
    }

    @Test func usageBeforeTheFirstRequestIsAnEmptyReport() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let environment = cleanEnvironment(["XDG_STATE_HOME": directory + "/state", "XDG_CONFIG_HOME": directory + "/config"])
        let json = try await ChildProcess.run(Executables.llmux, ["usage", "--json"], environment: environment)
        #expect(json.status == 0, "\(json.stderr)")
        let report = try #require(try? JSONValue.parse(json.stdout), "not JSON: \(json.stdout)")
        #expect(report["rows"]?.arrayValue?.isEmpty == true)
        #expect(report["total"]?["requests"]?.intValue == 0)
        let csv = try await ChildProcess.run(Executables.llmux, ["usage", "--csv"], environment: environment)
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.hasPrefix("day,requests,input_tokens"), "\(csv.stdout)")
        let table = try await ChildProcess.run(Executables.llmux, ["usage"], environment: environment)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("nothing recorded yet"), "\(table.stdout)")
        // Reading never creates the ledger.
        #expect(!FileManager.default.fileExists(atPath: directory + "/state/llmux/ledger.sqlite"))
    }

    @Test func argumentsThenPipedStdinFormTheMessage() async throws {
        try await TestDaemon.with { daemon in
            let result = try await llmux(daemon, ["-s", "be brief", "Summarize:"], stdin: "line one\nline two\n")
            #expect(result.status == 0)
            #expect(result.stdout == "echo: Summarize:\n\nline one\nline two\n")
            let body = try #require(daemon.mock.requests.last?.body)
            #expect(body["messages"]?.arrayValue?.first?["role"] == "system")
        }
    }

    @Test func jsonPrintsTheRawFrames() async throws {
        try await TestDaemon.with { daemon in
            let result = try await llmux(daemon, ["--json", "hi"])
            #expect(result.status == 0)
            let frames = try result.stdout.split(separator: "\n").map { try ServerFrame.decode(line: Array($0.utf8)) }
            guard case .start = frames.first, case .done = frames.last else {
                Issue.record("not start ... done: \(result.stdout)")
                return
            }
            #expect(frames.count == 4)
        }
    }

    /// The routing issue's acceptance: two upstreams, the first answers 503, `llmux -m smart` still answers
    /// and `--json` shows the 503 and then the success in `attempts`.
    @Test func routeFallsBackAcrossTwoUpstreams() async throws {
        let failing = try await MockUpstream.start(defaultScript: .httpError(503))
        defer { Task { await failing.shutdown() } }
        try await TestDaemon.with(configure: { config, mock in
            config.providers["down"] = ProviderConfig(name: "down", baseURL: failing.baseURL, keySource: .none, http1Only: true)
            config.routes["smart"] = RouteConfig(
                name: "smart",
                targets: [RouteTarget(provider: "down", upstreamModel: "big"), RouteTarget(provider: "mock", upstreamModel: "small")]
            )
        }) { daemon in
            let plain = try await llmux(daemon, ["-m", "smart", "hi"])
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(plain.stdout == "echo: hi")
            let result = try await llmux(daemon, ["-m", "smart", "--json", "hi"])
            #expect(result.status == 0, "\(result.stderr)")
            let frames = try result.stdout.split(separator: "\n").map { try ServerFrame.decode(line: Array($0.utf8)) }
            // Every frame round-trips byte for byte: it is exactly what protocol.md's encoder describes.
            #expect(frames.map(\.jsonLine) == result.stdout.split(separator: "\n").map(String.init))
            guard case .start(_, let model, let provider, let route)? = frames.first, case .done(let done)? = frames.last else {
                Issue.record("not start ... done: \(result.stdout)")
                return
            }
            #expect([model, provider, route] == ["small", "mock", "smart"])
            #expect(done.attempts.map(\.target) == ["down/big", "mock/small"])
            #expect(done.attempts.map(\.outcome) == ["upstream_http", "ok"])
            #expect(done.attempts.first?.httpStatus == 503)
            #expect(failing.requests.count == 2)
        }
    }

    @Test func showReasoningPrintsThinkingToStderr() async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript(chunks: ["The answer."])
            script.reasoningChunks = ["Let me ", "think."]
            daemon.mock.setDefaultScript(script)
            let shown = try await llmux(daemon, ["--show-reasoning", "hi"])
            #expect(shown.status == 0)
            #expect(shown.stdout == "The answer.")
            #expect(shown.stderr == "Let me think.")
            let hidden = try await llmux(daemon, ["hi"])
            #expect(hidden.stdout == "The answer.")
            #expect(hidden.stderr.isEmpty)
        }
    }

    struct ExitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var script: MockScript?
        var arguments: [String]
        var status: Int32
        var stderr: String
        var testDescription: String { self.name }
    }

    @Test(arguments: [
        ExitCase(name: "unknown model", arguments: ["-m", "nope", "hi"], status: 78, stderr: "unknown_model"),
        ExitCase(name: "rate limited", script: .httpError(429, headers: ["retry-after": "1"]), arguments: ["hi"], status: 75, stderr: "upstream_http"),
        ExitCase(name: "server error", script: .httpError(503), arguments: ["hi"], status: 75, stderr: "HTTP 503"),
        ExitCase(name: "bad key", script: .httpError(401), arguments: ["hi"], status: 77, stderr: "auth_failed"),
        ExitCase(name: "bad request", script: .httpError(400), arguments: ["hi"], status: 1, stderr: "HTTP 400"),
        ExitCase(
            name: "truncated", script: MockScript(chunks: ["a", "b"], fault: .endAfterChunks(1)), arguments: ["hi"], status: 75, stderr: "upstream_interrupted"),
        ExitCase(name: "no prompt", arguments: [], status: 2, stderr: "give a prompt"),
        ExitCase(name: "bad option", arguments: ["--frobnicate", "hi"], status: 2, stderr: "frobnicate"),
    ])
    func exitCodes(_ testCase: ExitCase) async throws {
        try await TestDaemon.with { daemon in
            if let script = testCase.script { daemon.mock.setDefaultScript(script) }
            let result = try await llmux(daemon, testCase.arguments)
            #expect(result.status == testCase.status, "\(result.stderr)")
            #expect(result.stderr.contains(testCase.stderr), "\(result.stderr)")
        }
    }

    @Test func noDaemonIsExit69() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let result = try await ChildProcess.run(
            Executables.llmux, ["--socket", directory + "/none.sock", "--no-autostart", "hi"], environment: cleanEnvironment())
        #expect(result.status == 69)
        #expect(result.stderr.contains("no llmuxd answers"))
    }

    @Test func noSocketPathIsExit78() async throws {
        let result = try await ChildProcess.run(Executables.llmux, ["hi"], environment: cleanEnvironment())
        #expect(result.status == 78)
        #expect(result.stderr.contains("XDG_RUNTIME_DIR"))
    }

    @Test func controlCCancelsTheRequestAndExits130() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: Array(repeating: "tick ", count: 400), intervalMs: 20))
            let child = try ChildProcess(Executables.llmux, ["--socket", daemon.socketPath, "--no-autostart", "count"], environment: cleanEnvironment())
            // Wait until text is flowing.
            for _ in 0..<200 where child.stdout.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!child.stdout.isEmpty)
            kill(child.pid, SIGINT)
            let status = await child.wait(timeout: .seconds(5))
            #expect(status == 130)
            let connectionID = try #require(daemon.mock.requests.last?.connectionID)
            #expect(await daemon.mock.waitForClose(ofConnection: connectionID, timeout: .seconds(1)) != nil)
            #expect(child.stdout.count < 400 * 5, "the stream was not cut short")
        }
    }

    @Test func pingModelsStatus() async throws {
        try await TestDaemon.with { daemon in
            let ping = try await llmux(daemon, ["ping"])
            #expect(ping.status == 0)
            #expect(ping.stdout.hasPrefix("pong in "))
            let models = try await llmux(daemon, ["models"])
            #expect(models.status == 0)
            #expect(models.stdout.contains("fast\tmock/fast-upstream"))
            #expect(models.stdout.contains("mock/default\tmock/default (default)"))
            let status = try await llmux(daemon, ["status"])
            #expect(status.status == 0)
            #expect(status.stdout.contains("providers: mock"))
        }
    }
}
