import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import Testing

/// The official `anthropic` Python SDK against the Messages front, through
/// every path a user of Claude Code or an editor's Anthropic mode takes:
/// streamed and not, tools, thinking, count_tokens, the model list, an error
/// class per status, an error event after output, both sockets and both ways
/// of sending the token. `.ci/run` installs the SDK in `.venv-test` and sets
/// `LLMUX_REQUIRE_ANTHROPIC_SDK=1`, so in CI a missing SDK fails.
@Suite("Anthropic Python SDK", .tags(.processes), .fullTierOnly)
struct AnthropicSDKTests {
    /// The same virtual environment as the openai SDK's.
    static var python: String? { OpenAISDKTests.python }

    static var required: Bool { ProcessInfo.processInfo.environment["LLMUX_REQUIRE_ANTHROPIC_SDK"] == "1" }

    @Test(.enabled(if: python != nil || required, "no Python in .venv-test"))
    func sdkChecks() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure, tcpHTTP: true) { daemon in
            let python = try #require(Self.python, "no Python with the anthropic package: run `.venv-test/bin/pip install anthropic`")
            OpenAISDKTests.scriptModels(daemon.mock)

            var environment = cleanEnvironment()
            let baseURL: String = try #require(daemon.httpBaseURL)
            let token: String = try #require(daemon.token)
            environment["ANTHROPIC_BASE_URL"] = baseURL
            environment["ANTHROPIC_API_KEY"] = token
            environment["LLMUX_HTTP_SOCKET"] = daemon.httpSocketPath
            let check = try await ChildProcess.run(python, ["-c", "import anthropic"], environment: environment)
            try #require(check.status == 0 || Self.required, "the anthropic SDK is not installed in .venv-test")
            guard check.status == 0 else {
                Issue.record("the anthropic SDK is not installed in .venv-test (LLMUX_REQUIRE_ANTHROPIC_SDK=1)")
                return
            }
            let result = try await ChildProcess.run(python, [RepositoryPaths.root + "/Tests/python/anthropic_sdk_check.py"], environment: environment)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("all checks passed"), "\(result.stdout)")
            #expect(!result.stdout.contains("FAIL"), "\(result.stdout)")

            // The tool result went upstream as an OpenAI tool message answering the call.
            let roundTrip = try #require(
                daemon.mock.requests.first { request in
                    request.body?["messages"]?.arrayValue?.contains { $0["role"]?.stringValue == "tool" } == true
                }, "no upstream request carried the tool result")
            let messages = roundTrip.body?["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool"])
            #expect(messages[1]["tool_calls"]?.arrayValue?.first?["id"]?.stringValue == "call_7")
            #expect(messages[2]["tool_call_id"]?.stringValue == "call_7")
            #expect(messages[2]["content"]?.stringValue == "sunny")
            // The system prompt became a system message; `thinking` did not reach the OpenAI-kind upstream.
            #expect(daemon.mock.requests.contains { $0.body?["messages"]?.arrayValue?.first?["role"]?.stringValue == "system" })
            #expect(!daemon.mock.requests.contains { $0.body?["thinking"] != nil })
        }
    }
}
