import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// Every front dialect against every upstream kind, on the mock: the NDJSON
/// socket, chat completions, Anthropic Messages and OpenAI Responses, each to
/// an OpenAI-compatible, an Anthropic and an OpenAI Responses upstream; then
/// what the Responses upstream adds (its request, tools, reasoning, faults).
@Suite("Dialect matrix")
struct DialectMatrixTests {
    let http = HTTPFrontTests()

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        config.providers["claude"] = ProviderConfig(
            name: "claude", kind: .anthropic, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        config.providers["resp"] = ProviderConfig(
            name: "resp", kind: .openaiResponses, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        config.routes["to-resp"] = RouteConfig(
            name: "to-resp", targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "resp", upstreamModel: "up")])
    }

    @Test(arguments: ["mock", "claude", "resp"])
    func everyFrontReachesEveryUpstreamKind(_ provider: String) async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            let model = "\(provider)/echo"
            let socket = try await daemon.connect { connection in
                try await connection.send(line: chatLine("r", model: model))
                return try await FrameLog.read(from: connection, until: ["r"])
            }
            #expect(socket.text("r") == "echo: hello r", "socket front, \(provider)")
            let chat = try await http.send(
                daemon, "/v1/chat/completions", body: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(chat.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: hi", "chat front, \(provider): \(chat.body)")
            let messages = try await http.send(
                daemon, "/v1/messages", body: #"{"model":"\#(model)","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(messages.json?["content"]?.arrayValue?.first?["text"] == "echo: hi", "messages front, \(provider): \(messages.body)")
            let responses = try await http.send(daemon, "/v1/responses", body: #"{"model":"\#(model)","input":"hi"}"#)
            let output = responses.json?["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"]
            #expect(output == "echo: hi", "responses front, \(provider): \(responses.body)")
        }
    }

    @Test func theResponsesUpstreamGetsAStatelessTranslatedRequest() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var script = MockScript(chunks: [])
            script.toolCalls = [MockToolCall(id: "call_7", name: "get_weather", arguments: #"{"city":"Paris"}"#)]
            daemon.mock.setScript(script, forModel: "tools")
            let tools = #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"#
            let messages = #"[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather?"}]"#
            let log = try await daemon.connect { connection in
                try await connection.send(line: #"{"type":"chat","id":"t","model":"resp/tools","messages":\#(messages),"tools":\#(tools),"max_tokens":50}"#)
                return try await FrameLog.read(from: connection, until: ["t"])
            }
            guard case .done(let done)? = log.terminal("t") else {
                Issue.record("expected done: \(log.all)")
                return
            }
            #expect(done.finishReason == "tool_calls")
            #expect(done.toolCalls.first?.id == "call_7")
            #expect(done.toolCalls.first?.name == "get_weather")
            #expect(done.toolCalls.first?.arguments == #"{"city":"Paris"}"#)
            let body = try #require(daemon.mock.requests.last?.body)
            #expect(daemon.mock.requests.last?.uri.hasSuffix("/responses") == true)
            #expect(body["instructions"] == "Be brief.")
            #expect(body["store"] == false)
            #expect(body["max_output_tokens"] == 50)
            #expect(body["input"]?.arrayValue?.first?["content"]?.arrayValue?.first?["type"] == "input_text")
            #expect(body["tools"]?.arrayValue?.first?["name"] == "get_weather")
            #expect(body["messages"] == nil)
        }
    }

    @Test func reasoningAndFailuresFromTheResponsesUpstream() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var thinker = MockScript(chunks: ["Because."])
            thinker.reasoningChunks = ["Let me think."]
            daemon.mock.setScript(thinker, forModel: "thinker")
            daemon.mock.setScript(MockScript(chunks: ["a", "b"], fault: .errorEventAfterChunks(1, message: "boom")), forModel: "failing")
            daemon.mock.setScript(MockScript(chunks: ["a", "b"], fault: .endAfterChunks(1)), forModel: "cut")
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(chunks: ["from resp"]), forModel: "up")
            let log = try await daemon.connect { connection in
                for (id, model) in [("think", "resp/thinker"), ("fail", "resp/failing"), ("cut", "resp/cut"), ("fallback", "to-resp")] {
                    try await connection.send(line: chatLine(id, model: model))
                }
                return try await FrameLog.read(from: connection, until: ["think", "fail", "cut", "fallback"])
            }
            #expect(log.frames("think").compactMap { if case .delta(let d) = $0 { return d.reasoning } else { return nil } }.joined() == "Let me think.")
            #expect(log.text("think") == "Because.")
            guard case .error(_, let failed)? = log.terminal("fail"), case .error(_, let cut)? = log.terminal("cut") else {
                Issue.record("expected errors: \(log.all)")
                return
            }
            #expect(failed.code == .upstreamInterrupted)
            #expect(failed.message.contains("boom"))
            #expect(cut.code == .upstreamInterrupted)
            #expect(cut.cause == .upstreamTruncated)
            #expect(log.text("fallback") == "from resp")
        }
    }
}
