import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// A socket client holding a multi-turn conversation with reasoning: the `done` frame carries
/// the upstream's reasoning state (Anthropic's signed thinking, OpenAI's encrypted reasoning),
/// and sent back on the assistant message it reaches an upstream of the same kind, and no other.
@Suite("Reasoning state across turns")
struct ReasoningStateTests {
    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        OpenAISDKTests.configure(&config, mock)
        PassThroughTests.configureResponses(&config, mock)
    }

    func done(_ daemon: TestDaemon, _ line: String) async throws -> DoneFrame {
        let log = try await daemon.connect { connection in
            try await connection.send(line: line)
            return try await FrameLog.read(from: connection, until: ["r"])
        }
        guard case .done(let done)? = log.terminal("r") else {
            Issue.record("no done: \(log.all)")
            return DoneFrame(id: "r", finishReason: "missing", usage: nil, model: "", provider: "", timing: Timing(ttftMs: nil, totalMs: 0))
        }
        return done
    }

    /// The second turn: the first answer sent back with its reasoning state.
    static func secondTurn(model: String, state: [JSONValue], extra: String = "") -> String {
        let assistant: JSONValue = ["role": "assistant", "content": "Sunny.", "reasoning_state": .array(state)]
        return
            #"{"type":"chat","id":"r","model":"\#(model)","messages":[{"role":"user","content":"weather?"},\#(assistant.jsonString),{"role":"user","content":"and tomorrow?"}]\#(extra)}"#
    }

    @Test func signedThinkingGoesBackToAnthropicOnly() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var script = MockScript(chunks: ["Sunny."])
            script.reasoningChunks = ["Look ", "outside."]
            daemon.mock.setDefaultScript(script)
            let first = try await done(daemon, chatLine("r", model: "claude/think"))
            let expected: JSONValue = ["format": "anthropic", "type": "thinking", "thinking": "Look outside.", "signature": "c2lnbmF0dXJl"]
            #expect(first.reasoningState == [expected])

            _ = try await done(daemon, Self.secondTurn(model: "claude/think", state: first.reasoningState))
            let replayed = try #require(daemon.mock.requests.last?.body?["messages"]?.arrayValue)
            #expect(replayed.count == 3)
            #expect(
                replayed[1]["content"]?.arrayValue?.first == ["type": "thinking", "thinking": "Look outside.", "signature": "c2lnbmF0dXJl"],
                "\(replayed)")

            // Other kinds never see it: not as a field, not as a block.
            _ = try await done(daemon, Self.secondTurn(model: "mock/plain", state: first.reasoningState))
            let plain = try #require(daemon.mock.requests.last?.body?["messages"]?.arrayValue)
            #expect(plain[1]["reasoning_state"] == nil)
            #expect(plain[1]["content"] == "Sunny.")
            _ = try await done(daemon, Self.secondTurn(model: "resp/deep", state: first.reasoningState))
            let input = try #require(daemon.mock.requests.last?.body?["input"]?.arrayValue)
            #expect(!input.contains { $0["type"]?.stringValue == "reasoning" })
        }
    }

    @Test func encryptedReasoningGoesBackToTheResponsesUpstream() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var script = MockScript(chunks: ["Sunny."])
            script.reasoningChunks = ["Think."]
            daemon.mock.setDefaultScript(script)
            let first = try await done(daemon, chatLine("r", model: "resp/deep", extra: #","reasoning_effort":"high""#))
            #expect(daemon.mock.requests.last?.body?["include"] == ["reasoning.encrypted_content"])
            let state = try #require(first.reasoningState.first)
            #expect(first.reasoningState.count == 1)
            #expect(state["format"] == "openai-responses")
            #expect(state["item"]?["encrypted_content"] == "gAAAA-mock-encrypted")

            _ = try await done(daemon, Self.secondTurn(model: "resp/deep", state: first.reasoningState))
            let input = try #require(daemon.mock.requests.last?.body?["input"]?.arrayValue)
            #expect(input.map { $0["type"]?.stringValue } == ["message", "reasoning", "message", "message"], "\(input)")
            #expect(input[1] == state["item"])
            #expect(daemon.mock.requests.last?.body?["include"] == ["reasoning.encrypted_content"], "replayed state asks for the next")

            _ = try await done(daemon, Self.secondTurn(model: "claude/think", state: first.reasoningState))
            let messages = try #require(daemon.mock.requests.last?.body?["messages"]?.arrayValue)
            #expect(messages[1]["content"]?.arrayValue?.map { $0["type"]?.stringValue } == ["text"], "\(messages)")
        }
    }
}
