import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import Testing

/// The official `openai` Python SDK against the HTTP front. `.ci/run` makes
/// the virtual environment (`.venv-test`, with `openai`) and sets
/// `LLMUX_REQUIRE_OPENAI_SDK=1`, so in CI a missing SDK fails instead of skipping.
@Suite("OpenAI Python SDK", .tags(.processes), .fullTierOnly)
struct OpenAISDKTests {
    static let python: String? = {
        if let explicit = ProcessInfo.processInfo.environment["LLMUX_TEST_PYTHON"], !explicit.isEmpty { return explicit }
        let venv = RepositoryPaths.root + "/.venv-test/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }()

    static var required: Bool { ProcessInfo.processInfo.environment["LLMUX_REQUIRE_OPENAI_SDK"] == "1" }

    /// Runs `script` (a path from the repository's root) with the SDK's own variables set to
    /// the daemon's TCP front, as the README tells users to.
    func run(_ script: String, arguments: [String] = [], _ daemon: TestDaemon) async throws -> (status: Int32, stdout: String, stderr: String) {
        let python = try #require(Self.python, "no Python with the openai package: run `python3 -m venv .venv-test && .venv-test/bin/pip install openai`")
        var environment = cleanEnvironment()
        environment["LLMUX_BASE_URL"] = try #require(daemon.httpBaseURL) + "/v1"
        let token: String = try #require(daemon.token)
        environment["LLMUX_TOKEN"] = token
        environment["OPENAI_BASE_URL"] = environment["LLMUX_BASE_URL"]
        environment["OPENAI_API_KEY"] = environment["LLMUX_TOKEN"]
        environment["LLMUX_HTTP_SOCKET"] = daemon.httpSocketPath
        return try await ChildProcess.run(python, [RepositoryPaths.root + "/" + script] + arguments, environment: environment)
    }

    /// The models the SDK check scripts ask for: a failing and a working route target, a tool
    /// call, reasoning, a cut answer, error statuses and a stream that fails after its first chunk.
    static func scriptModels(_ mock: MockUpstream) {
        mock.setScript(.httpError(503), forModel: "down")
        mock.setScript(MockScript(), forModel: "up")
        var tools = MockScript(chunks: [])
        tools.toolCalls = [MockToolCall(id: "call_7", name: "get_weather", arguments: #"{"city": "Paris"}"#)]
        mock.setScript(tools, forModel: "tools")
        var thinker = MockScript(chunks: ["Because."])
        thinker.reasoningChunks = ["Let me think. "]
        mock.setScript(thinker, forModel: "thinker")
        var cut = MockScript(chunks: ["and so"])
        cut.finishReason = "length"
        mock.setScript(cut, forModel: "cut")
        mock.setScript(.httpError(429), forModel: "limited")
        mock.setScript(.httpError(400), forModel: "bad")
        mock.setScript(.httpError(529), forModel: "overloaded")
        mock.setScript(MockScript(chunks: ["a", "b", "c"], fault: .errorEventAfterChunks(1, message: "boom")), forModel: "broken")
    }

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        config.providers["claude"] = ProviderConfig(
            name: "claude", kind: .anthropic, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        config.routes["smart-select"] = RouteConfig(
            name: "smart-select",
            targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "mock", upstreamModel: "up")]
        )
    }

    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func shippedExampleStreamsThroughAFallback() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            // The route's first target answers 503: the seed's code still streams, from the second.
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(chunks: ["Streaming ", "shows ", "words ", "as ", "they ", "come."]), forModel: "up")
            let result = try await run("examples/openai_stream.py", arguments: ["smart-select"], daemon)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "Streaming shows words as they come.")
            #expect(daemon.mock.requests.contains { $0.body?["model"]?.stringValue == "down" })
        }
    }

    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func anSDKRequestClosedBeforeItsFirstTokenAbortsTheUpstreamRequest() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["late"], firstTokenDelayMs: 20_000), forModel: "slow")
            let python = try #require(Self.python)
            var environment = cleanEnvironment()
            environment["OPENAI_BASE_URL"] = try #require(daemon.httpBaseURL) + "/v1"
            let token: String = try #require(daemon.token)
            environment["OPENAI_API_KEY"] = token
            // The SDK gives up after 3 s (time for a sanitized daemon to reach the mock), long before
            // the first token, and closes its connection.
            let script = """
                import openai
                client = openai.OpenAI(timeout=3.0, max_retries=0)
                try:
                    for _ in client.chat.completions.create(model="mock/slow", stream=True, messages=[{"role": "user", "content": "x"}]):
                        pass
                    print("no timeout")
                except openai.APITimeoutError:
                    print("timed out")
                """
            let result = try await ChildProcess.run(python, ["-c", script], environment: environment)
            let exited = ContinuousClock.now
            #expect(result.stdout.contains("timed out"), "\(result.stdout) \(result.stderr)")
            let connection = try #require(daemon.mock.requests.last?.connectionID, "the request never reached the mock")
            let closed = await daemon.mock.waitForClose(ofConnection: connection, timeout: .seconds(5))
            #expect(closed != nil, "the upstream request kept running after the SDK closed its connection")
            if let closed { #expect(closed < exited + .seconds(1)) }
        }
    }

    /// `responses.create` and `responses.stream`, as Codex and the SDK's users call them.
    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func responsesChecks() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            Self.scriptModels(daemon.mock)
            let result = try await run("Tests/python/responses_sdk_check.py", daemon)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("all checks passed"), "\(result.stdout)")
            // The function call and its output went upstream as a chat tool call and tool message.
            let roundTrip = try #require(
                daemon.mock.requests.first { request in
                    request.body?["messages"]?.arrayValue?.contains { $0["role"]?.stringValue == "tool" } == true
                }, "no upstream request carried the function call output")
            let messages = roundTrip.body?["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool"])
            #expect(messages[1]["tool_calls"]?.arrayValue?.first?["function"]?["name"]?.stringValue == "get_weather")
            #expect(messages[2]["tool_call_id"]?.stringValue == "call_7")
            #expect(daemon.mock.requests.contains { $0.body?["reasoning_effort"]?.stringValue == "low" })
        }
    }

    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func sdkChecks() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            Self.scriptModels(daemon.mock)
            let result = try await run("Tests/python/openai_sdk_check.py", daemon)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(!result.stdout.contains("FAIL"), "\(result.stdout)")
            #expect(result.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count == 15, "\(result.stdout)")
        }
    }
}
