import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// Answers that are complete but not shaped like a plain event stream: a body left open
/// after `[DONE]`, a whole JSON `chat.completion`, a content type that is neither.
@Suite("Upstream answer shapes")
struct UpstreamAnswerShapeTests {
    func chat(_ daemon: TestDaemon, id: String = "r", model: String = "mock/default") async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: chatLine(id, model: model))
            return try await FrameLog.read(from: connection, until: [id])
        }
    }

    @Test func doneArrivesAtDoneEvenWhenTheBodyStaysOpen() async throws {
        // An idle limit of 120 s: on the old reader `done` waited for it. The bound below is
        // structural (half the idle limit), not a latency figure, so a loaded sanitized run holds it.
        let timeouts = TimeoutConfig(connectMs: 10_000, headerMs: 10_000, firstTokenMs: 10_000, idleMs: 120_000, totalMs: 300_000)
        try await TestDaemon.with(timeouts: timeouts) { daemon in
            var script = MockScript.counting(3)
            script.holdBodyOpenAfterDone = true
            daemon.mock.setDefaultScript(script)
            let started = ContinuousClock.now
            let log = try await chat(daemon)
            let took = ContinuousClock.now - started
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("no done: \(log.frames("r"))")
                return
            }
            #expect(log.isWellFormed("r"))
            #expect(log.text("r") == "000000000000000100000002")
            #expect(done.finishReason == "stop")
            #expect(took < .seconds(60), "done waited \(took) for a body that stayed open after [DONE]")
            // The connection the body held open is closed in the background.
            let connection = try #require(daemon.mock.requests.last?.connectionID)
            #expect(await daemon.mock.waitForClose(ofConnection: connection, timeout: .seconds(10)) != nil)
        }
    }

    @Test func aWholeJSONCompletionIsItsDeltasThenDone() async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript(chunks: ["whole ", "answer"], finishReason: "length")
            script.wholeJSONCompletion = true
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon)
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("no done: \(log.frames("r"))")
                return
            }
            #expect(log.isWellFormed("r"))
            #expect(log.text("r") == "whole answer")
            #expect(done.finishReason == "length")
            #expect(done.usage?.outputTokens == 2)
            #expect((done.usage?.inputTokens ?? 0) > 0)
        }
    }

    /// An `openai-responses` server that ignores `stream` answers one response object: its items
    /// are the deltas, its status the end; a Responses client on it gets a translated stream
    /// (a whole object is no event to pass through).
    @Test func aWholeResponsesObjectIsItsDeltasThenDone() async throws {
        try await TestDaemon.with(configure: PassThroughTests.configureResponses) { daemon in
            var script = MockScript(chunks: ["whole ", "answer"])
            script.reasoningChunks = ["Think."]
            script.toolCalls = [MockToolCall(id: "call_9", name: "look", arguments: #"{"up":true}"#)]
            script.wholeJSONCompletion = true
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon, model: "resp/whole")
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("no done: \(log.frames("r"))")
                return
            }
            #expect(log.isWellFormed("r"))
            #expect(log.text("r") == "whole answer")
            #expect(log.reasoning("r") == "Think.")
            #expect(done.finishReason == "tool_calls")
            #expect(done.toolCalls == [ToolCallFragment(index: 0, id: "call_9", name: "look", arguments: #"{"up":true}"#)])
            #expect(done.usage?.outputTokens == 2)

            let reply = try await HTTPFrontTests().send(daemon, "/v1/responses", body: #"{"model":"resp/whole","input":"hi","stream":true}"#)
            #expect(reply.status == 200, "\(reply.body)")
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.first?.name == "response.created")
            #expect(events.last?.name == "response.completed", "\(reply.body)")
            #expect(events.compactMap { $0.name == "response.output_text.delta" ? $0.data["delta"]?.stringValue : nil }.joined() == "whole answer")
        }
    }

    @Test func anotherContentTypeIsAProtocolErrorThatNamesIt() async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript.counting(2)
            script.streamContentType = "text/html; charset=utf-8"
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon)
            guard case .error(_, let error)? = log.terminal("r") else {
                Issue.record("no error: \(log.frames("r"))")
                return
            }
            #expect(error.code == .upstreamProtocol)
            #expect(!error.retryable)
            #expect(error.message.contains("text/html"), "\(error.message)")
        }
    }
}

/// Options the client passes through reach the upstream as the client wrote them.
@Suite("Pass-through numbers")
struct PassThroughNumberTests {
    static let seed = "123456789012345678901234567890"

    @Test func anIntegerBeyond64BitsReachesTheUpstreamAsWritten() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("big", extra: #","seed":\#(Self.seed)"#))
                _ = try await FrameLog.read(from: connection, until: ["big"])
            }
            #expect(daemon.mock.requests.last?.body?["seed"] == .bigInteger(Self.seed))
            let reply = try await HTTPFrontTests().send(
                daemon,
                "/v1/chat/completions",
                body: HTTPFrontTests.chatBody(stream: false, extra: #","seed":-\#(Self.seed)"#)
            )
            #expect(reply.status == 200)
            #expect(daemon.mock.requests.last?.body?["seed"] == .bigInteger("-" + Self.seed))
        }
    }
}
