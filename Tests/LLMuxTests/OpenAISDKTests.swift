import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import Testing

/// The official `openai` Python SDK against the HTTP front. `.ci/run` makes
/// the virtual environment (`.venv-test`, with `openai`) and sets
/// `LLMUX_REQUIRE_OPENAI_SDK=1`, so in CI a missing SDK fails instead of skipping.
@Suite("OpenAI Python SDK")
struct OpenAISDKTests {
    static let python: String? = {
        if let explicit = ProcessInfo.processInfo.environment["LLMUX_TEST_PYTHON"], !explicit.isEmpty { return explicit }
        let venv = RepositoryPaths.root + "/.venv-test/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }()

    static var required: Bool { ProcessInfo.processInfo.environment["LLMUX_REQUIRE_OPENAI_SDK"] == "1" }

    func run(_ script: String, _ daemon: TestDaemon) async throws -> (status: Int32, stdout: String, stderr: String) {
        let python = try #require(Self.python, "no Python with the openai package: run `python3 -m venv .venv-test && .venv-test/bin/pip install openai`")
        var environment = cleanEnvironment()
        environment["LLMUX_BASE_URL"] = try #require(daemon.httpBaseURL) + "/v1"
        environment["LLMUX_TOKEN"] = try #require(daemon.token)
        environment["LLMUX_HTTP_SOCKET"] = daemon.httpSocketPath
        return try await ChildProcess.run(python, [RepositoryPaths.root + "/Tests/python/" + script], environment: environment)
    }

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        config.providers["claude"] = ProviderConfig(name: "claude", kind: .anthropic, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        config.routes["smart-select"] = RouteConfig(
            name: "smart-select",
            targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "mock", upstreamModel: "up")]
        )
    }

    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func seedExampleStreamsThroughAFallback() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            // The route's first target answers 503: the seed's code still streams, from the second.
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(chunks: ["Streaming ", "shows ", "words ", "as ", "they ", "come."]), forModel: "up")
            let result = try await run("seed_example.py", daemon)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "Streaming shows words as they come.")
            #expect(daemon.mock.requests.contains { $0.body?["model"]?.stringValue == "down" })
        }
    }

    @Test(.enabled(if: python != nil || required, "the openai Python SDK is not installed in .venv-test"))
    func sdkChecks() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(), forModel: "up")
            var tools = MockScript(chunks: [])
            tools.toolCalls = [MockToolCall(id: "call_7", name: "get_weather", arguments: #"{"city": "Paris"}"#)]
            daemon.mock.setScript(tools, forModel: "tools")
            let result = try await run("openai_sdk_check.py", daemon)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(!result.stdout.contains("FAIL"), "\(result.stdout)")
            #expect(result.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("ok ") }.count == 13, "\(result.stdout)")
        }
    }
}
