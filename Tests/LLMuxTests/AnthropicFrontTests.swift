import AsyncHTTPClient
import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOHTTP1
import Testing

/// The Anthropic Messages front over real sockets, without the SDK: the exact
/// event stream, fallback before the first token, and the front's refusals in
/// Anthropic's shape.
@Suite("Anthropic Messages front")
struct AnthropicFrontTests {
    let http = HTTPFrontTests()

    /// `(event, data)` pairs of an event stream.
    static func events(_ body: String) -> [(name: String, data: JSONValue)] {
        body.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard lines.count == 2, lines[0].hasPrefix("event: "), lines[1].hasPrefix("data: ") else { return nil }
            guard let data = try? JSONValue.parse(String(lines[1].dropFirst(6))) else { return nil }
            return (String(lines[0].dropFirst(7)), data)
        }
    }

    static func body(model: String, stream: Bool, extra: String = "") -> String {
        #"{"model":"\#(model)","max_tokens":256,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]\#(extra)}"#
    }

    /// From an OpenAI-kind upstream (reasoning, text, a tool call) back to an Anthropic client, as
    /// llmux writes the events (an Anthropic upstream's pass through: `PassThroughTests`): every
    /// event named as its data's type, blocks opened and closed in index order, deltas of their
    /// block's type, the usage in message_delta.
    @Test func theStreamHasEveryEventInTheOrderTheSDKNeeds() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure) { daemon in
            var script = MockScript(chunks: ["Sunny ", "today."])
            script.reasoningChunks = ["Check the sky."]
            script.toolCalls = [MockToolCall(id: "toolu_1", name: "look", arguments: #"{"up":true}"#)]
            daemon.mock.setScript(script, forModel: "sky")
            let reply = try await http.send(daemon, "/v1/messages?beta=true", body: Self.body(model: "mock/sky", stream: true))
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.headers["content-type"].first == "text/event-stream")
            let events = Self.events(reply.body)
            #expect(events.allSatisfy { $0.data["type"]?.stringValue == $0.name })
            #expect(events.first?.name == "message_start")
            #expect(events.first?.data["message"]?["usage"]?["input_tokens"]?.intValue == 0)
            #expect(events.last?.name == "message_stop")
            let starts = events.filter { $0.name == "content_block_start" }
            #expect(starts.map { $0.data["index"]?.intValue } == [0, 1, 2])
            #expect(starts.map { $0.data["content_block"]?["type"]?.stringValue } == ["thinking", "text", "tool_use"])
            #expect(starts[2].data["content_block"]?["id"]?.stringValue == "toolu_1")
            for delta in events.filter({ $0.name == "content_block_delta" }) {
                let index = Int(delta.data["index"]?.intValue ?? -1)
                let expected = ["thinking_delta", "text_delta", "input_json_delta"][index]
                #expect(delta.data["delta"]?["type"]?.stringValue == expected)
            }
            let stops = events.filter { $0.name == "content_block_stop" }.map { $0.data["index"]?.intValue }
            #expect(stops == [0, 1, 2])
            let text = events.compactMap { $0.data["delta"]?["text"]?.stringValue }.joined()
            #expect(text == "Sunny today.")
            let messageDelta = try #require(events.first { $0.name == "message_delta" })
            #expect(messageDelta.data["delta"]?["stop_reason"]?.stringValue == "tool_use")
            #expect((messageDelta.data["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
            #expect((messageDelta.data["usage"]?["output_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func anOverloadedFirstTargetFallsBackBeforeTheFirstToken() async throws {
        try await TestDaemon.with(configure: { config, mock in
            OpenAISDKTests.configure(&config, mock)
            config.routes["claude-ish"] = RouteConfig(
                name: "claude-ish",
                targets: [RouteTarget(provider: "claude", upstreamModel: "busy"), RouteTarget(provider: "mock", upstreamModel: "spare")]
            )
        }) { daemon in
            daemon.mock.setScript(.httpError(529), forModel: "busy")
            daemon.mock.setScript(MockScript(chunks: ["from the spare"]), forModel: "spare")
            let reply = try await http.send(daemon, "/v1/messages", body: Self.body(model: "claude-ish", stream: false))
            #expect(reply.status == 200, "\(reply.body)")
            let message = try #require(reply.json)
            #expect(message["type"] == "message")
            #expect(message["content"]?.arrayValue?.first?["text"] == "from the spare")
            #expect(message["stop_reason"] == "end_turn")
            #expect(daemon.mock.requests.contains { $0.body?["model"]?.stringValue == "busy" })
        }
    }

    @Test func refusalsAndModelsUseAnthropicsShape() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure, tcpHTTP: true) { daemon in
            let version = ["anthropic-version": "2023-06-01"]
            let wrongKey = try await http.send(
                daemon, "/v1/messages", body: Self.body(model: "fast", stream: false), tcp: true, token: .some(nil), headers: ["x-api-key": "wrong"])
            #expect(wrongKey.status == 401)
            #expect(wrongKey.json?["type"] == "error")
            #expect(wrongKey.json?["error"]?["type"] == "authentication_error")
            let rightKey = try await http.send(
                daemon, "/v1/messages", body: Self.body(model: "fast", stream: false), tcp: true, token: .some(nil),
                headers: ["x-api-key": try #require(daemon.token)])
            #expect(rightKey.status == 200, "\(rightKey.body)")
            let unknown = try await http.send(daemon, "/v1/nothing", method: .GET, headers: version)
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"]?["type"] == "not_found_error")
            let wrongMethod = try await http.send(daemon, "/v1/messages", method: .GET)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers["allow"].first == "POST")
            #expect(wrongMethod.json?["error"]?["type"] == "invalid_request_error")
            let noMaxTokens = try await http.send(daemon, "/v1/messages", body: #"{"model":"fast","messages":[{"role":"user","content":"x"}]}"#)
            #expect(noMaxTokens.status == 400)
            #expect(noMaxTokens.json?["error"]?["message"]?.stringValue?.contains("max_tokens") == true)
            let models = try await http.send(daemon, "/v1/models", method: .GET, headers: version)
            #expect(models.json?["has_more"] == false)
            #expect(models.json?["data"]?.arrayValue?.contains { $0["id"] == "fast" && $0["type"] == "model" } == true)
            let openAIModels = try await http.send(daemon, "/v1/models", method: .GET)
            #expect(openAIModels.json?["object"] == "list")
            let one = try await http.send(daemon, "/v1/models/fast", method: .GET, headers: version)
            #expect(one.json?["type"] == "model")
        }
    }
}
