import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// A client on an upstream of its own dialect: the request body reaches the upstream as
/// written (only the model mapped), with the dialect's headers, and the upstream's events come
/// back unchanged, while llmux still reads them for usage and cost.
@Suite("Pass-through when the dialects match")
struct PassThroughTests {
    let http = HTTPFrontTests()

    /// A server-tool block written with spacing no JSON writer produces: if it arrives so, the
    /// event was not rewritten on the way.
    static let serverToolBlock = #"{"type": "server_tool_use",  "id": "srvtoolu_1", "name": "web_search", "input": {"query": "weather"}}"#

    /// What translation would lose: `cache_control`, a replayed thinking block with its signature,
    /// a server tool, a field llmux does not know.
    static func anthropicBody(stream: Bool) -> String {
        #"""
        {"model":"claude/sky","max_tokens":300,"stream":\#(stream),
         "system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
         "thinking":{"type":"enabled","budget_tokens":1024},
         "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":2}],
         "future_field":{"kept":[1,2,3]},
         "messages":[
          {"role":"user","content":"hi"},
          {"role":"assistant","content":[{"type":"thinking","thinking":"Greet back.","signature":"sig-from-anthropic"},{"type":"text","text":"Hello."}]},
          {"role":"user","content":[{"type":"text","text":"weather?","cache_control":{"type":"ephemeral"}}]}]}
        """#
    }

    static func skyScript() -> MockScript {
        var script = MockScript(chunks: ["Sunny ", "today."])
        script.reasoningChunks = ["Look it up."]
        script.rawAnthropicBlocks = [Self.serverToolBlock]
        script.toolCalls = [MockToolCall(id: "toolu_1", name: "look", arguments: #"{"up":true}"#)]
        script.cacheWriteTokens = 7
        return script
    }

    static let headers = ["anthropic-version": "2023-06-01", "anthropic-beta": "interleaved-thinking-2025-05-14,context-1m-2025-08-07"]

    /// The body the upstream got is the client's, but for the model and `stream`.
    static func expectForwardedAsWritten(_ daemon: TestDaemon, stream: Bool) throws {
        let upstream = try #require(daemon.mock.requests.last)
        var expected = try #require(try JSONValue.parse(Self.anthropicBody(stream: stream)).objectValue)
        expected["model"] = "sky"
        expected["stream"] = true
        #expect(upstream.body == .object(expected))
        #expect(upstream.header("anthropic-version") == "2023-06-01")
        #expect(upstream.header("anthropic-beta") == Self.headers["anthropic-beta"])
    }

    @Test func anAnthropicClientOnAnAnthropicUpstreamGetsItsEventsUnchanged() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure) { daemon in
            daemon.mock.setScript(Self.skyScript(), forModel: "sky")
            let reply = try await http.send(daemon, "/v1/messages", body: Self.anthropicBody(stream: true), headers: Self.headers)
            #expect(reply.status == 200, "\(reply.body)")
            try Self.expectForwardedAsWritten(daemon, stream: true)
            // The upstream's own bytes: the server-tool block as written, the signature, an
            // event type llmux does not know, the upstream's message id and prompt count.
            #expect(reply.body.contains(#""content_block":\#(Self.serverToolBlock)}"#), "\(reply.body)")
            #expect(reply.body.contains(#""signature_delta","signature":"c2lnbmF0dXJl""#) || reply.body.contains("c2lnbmF0dXJl"))
            #expect(reply.body.contains("event: mock_future_event\n"))
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.first?.name == "message_start")
            #expect(events.first?.data["message"]?["id"]?.stringValue == "msg_mock")
            #expect((events.first?.data["message"]?["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            #expect(events.filter { $0.name == "message_start" }.count == 1)
            #expect(events.filter { $0.name == "message_stop" }.count == 1)
            #expect(events.last?.name == "message_stop")
            // Read on the way: the upstream's counts reach the metrics.
            let output = try #require(events.last { $0.name == "message_delta" }?.data["usage"]?["output_tokens"]?.intValue)
            let metrics = try await http.send(daemon, "/metrics", method: .GET)
            let lines = Set(metrics.body.split(separator: "\n").map(String.init))
            #expect(lines.contains(#"llmux_tokens_total{provider="claude",kind="output"} \#(output)"#), "\(metrics.body)")
            #expect(lines.contains(#"llmux_tokens_total{provider="claude",kind="cache_write"} 7"#), "\(metrics.body)")
        }
    }

    @Test func aWholeMessageIsTheUpstreamsOwn() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure) { daemon in
            daemon.mock.setScript(Self.skyScript(), forModel: "sky")
            let reply = try await http.send(daemon, "/v1/messages", body: Self.anthropicBody(stream: false), headers: Self.headers)
            #expect(reply.status == 200, "\(reply.body)")
            try Self.expectForwardedAsWritten(daemon, stream: false)
            let message = try #require(reply.json)
            #expect(message["id"]?.stringValue == "msg_mock")
            let content = try #require(message["content"]?.arrayValue)
            try #require(content.map { $0["type"]?.stringValue } == ["thinking", "server_tool_use", "text", "tool_use"], "\(content)")
            #expect(content[0]["signature"]?.stringValue == "c2lnbmF0dXJl")
            #expect(content[0]["thinking"]?.stringValue == "Look it up.")
            #expect(content[1] == (try JSONValue.parse(Self.serverToolBlock)))
            #expect(content[2]["text"]?.stringValue == "Sunny today.")
            #expect(content[3]["input"] == ["up": true])
            #expect(message["stop_reason"]?.stringValue == "tool_use")
            #expect(message["usage"]?["cache_creation_input_tokens"]?.intValue == 7)
            #expect((message["usage"]?["output_tokens"]?.intValue ?? 0) > 1, "message_delta's cumulative count replaced message_start's")
        }
    }

    /// A first target that passes events through and fails before its first token leaves none of
    /// them behind: the answer from a translated target is one well-formed stream.
    @Test func eventsOfAFailedPassingThroughAttemptAreDropped() async throws {
        try await TestDaemon.with(configure: { config, mock in
            OpenAISDKTests.configure(&config, mock)
            config.routes["claude-ish"] = RouteConfig(
                name: "claude-ish",
                targets: [RouteTarget(provider: "claude", upstreamModel: "flaky"), RouteTarget(provider: "mock", upstreamModel: "spare")]
            )
        }) { daemon in
            var flaky = MockScript(chunks: ["never"])
            flaky.fault = .errorEventAfterChunks(0, message: "Overloaded")
            daemon.mock.setScript(flaky, forModel: "flaky")
            daemon.mock.setScript(MockScript(chunks: ["from ", "the spare"]), forModel: "spare")
            let body = AnthropicFrontTests.body(model: "claude-ish", stream: true)
            let reply = try await http.send(daemon, "/v1/messages", body: body, headers: Self.headers)
            #expect(reply.status == 200, "\(reply.body)")
            #expect(daemon.mock.requests.map { $0.body?["model"]?.stringValue } == ["flaky", "spare"])
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.filter { $0.name == "message_start" }.count == 1)
            #expect(events.first?.data["message"]?["id"]?.stringValue?.hasPrefix("msg_llmux_") == true, "\(reply.body)")
            #expect(!reply.body.contains("msg_mock"))
            #expect(events.compactMap { $0.data["delta"]?["text"]?.stringValue }.joined() == "from the spare")
            #expect(events.last?.name == "message_stop")
        }
    }

    // MARK: Responses on an openai-responses upstream

    static func configureResponses(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        config.providers["resp"] = ProviderConfig(
            name: "resp", kind: .openaiResponses, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
    }

    /// Encrypted reasoning sent back, `include`, and a field llmux does not know.
    static func responsesBody(stream: Bool) -> String {
        #"""
        {"model":"resp/deep","stream":\#(stream),"include":["reasoning.encrypted_content"],"store":false,
         "reasoning":{"effort":"high","summary":"auto"},"future_field":{"kept":true},
         "input":[
          {"role":"user","content":"hi"},
          {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA-earlier-turn"},
          {"role":"assistant","content":[{"type":"output_text","text":"Hello."}]},
          {"role":"user","content":"and now?"}]}
        """#
    }

    static func expectResponsesForwardedAsWritten(_ daemon: TestDaemon, stream: Bool) throws {
        let upstream = try #require(daemon.mock.requests.last)
        var expected = try #require(try JSONValue.parse(Self.responsesBody(stream: stream)).objectValue)
        expected["model"] = "deep"
        expected["stream"] = true
        #expect(upstream.body == .object(expected))
    }

    @Test func aResponsesClientOnAResponsesUpstreamGetsItsEventsUnchanged() async throws {
        try await TestDaemon.with(configure: Self.configureResponses) { daemon in
            var script = MockScript(chunks: ["Deep ", "answer."])
            script.reasoningChunks = ["Think."]
            daemon.mock.setScript(script, forModel: "deep")
            let reply = try await http.send(daemon, "/v1/responses", body: Self.responsesBody(stream: true))
            #expect(reply.status == 200, "\(reply.body)")
            try Self.expectResponsesForwardedAsWritten(daemon, stream: true)
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.first?.name == "response.created")
            #expect(events.filter { $0.name == "response.created" }.count == 1)
            #expect(events.first?.data["response"]?["id"]?.stringValue == "resp_mock", "the upstream's response, not one of llmux's")
            #expect(reply.body.contains(#""encrypted_content":"gAAAA-mock-encrypted""#), "\(reply.body)")
            #expect(events.last?.name == "response.completed")
            #expect(events.filter { $0.name.hasPrefix("response.completed") }.count == 1)
            let sequence = events.compactMap { $0.data["sequence_number"]?.intValue }
            #expect(sequence.count == events.count, "every event kept its number")
        }
    }

    @Test func aWholeResponseIsTheUpstreamsOwn() async throws {
        try await TestDaemon.with(configure: Self.configureResponses) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["Deep ", "answer."]), forModel: "deep")
            let reply = try await http.send(daemon, "/v1/responses", body: Self.responsesBody(stream: false))
            #expect(reply.status == 200, "\(reply.body)")
            try Self.expectResponsesForwardedAsWritten(daemon, stream: false)
            let response = try #require(reply.json)
            #expect(response["id"]?.stringValue == "resp_mock")
            #expect(response["status"]?.stringValue == "completed")
            #expect(response["usage"]?["output_tokens"]?.intValue == 2)
            #expect(response["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == "Deep answer.")
        }
    }

    /// A Responses client on a chat upstream is translated: the body the upstream gets is a chat
    /// request, and the native fields do not leak into it.
    @Test func otherUpstreamKindsGetTheTranslation() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["chat ", "answer"]), forModel: "plain")
            var body = Self.responsesBody(stream: true)
            body = body.replacingOccurrences(of: "resp/deep", with: "mock/plain")
            let reply = try await http.send(daemon, "/v1/responses", body: body)
            #expect(reply.status == 200, "\(reply.body)")
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.uri.hasSuffix("/chat/completions"))
            #expect(upstream.body?["future_field"] == nil)
            #expect(upstream.body?["include"] == nil)
            #expect(upstream.body?["messages"] != nil)
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.first?.data["response"]?["id"]?.stringValue?.hasPrefix("resp_") == true)
            #expect(events.first?.data["response"]?["id"]?.stringValue != "resp_mock")
        }
    }
}
