import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// The Responses front over http.sock without the SDK: the raw event stream
/// from an Anthropic-kind upstream (a cross-dialect answer), and the
/// stateless refusals.
@Suite("Responses front")
struct ResponsesFrontTests {
    let http = HTTPFrontTests()

    @Test func theStreamNumbersEveryEventAndOpensEachItemBeforeItsDeltas() async throws {
        try await TestDaemon.with(configure: OpenAISDKTests.configure) { daemon in
            var script = MockScript(chunks: ["Sunny ", "today."])
            script.reasoningChunks = ["Check the sky."]
            script.toolCalls = [MockToolCall(id: "toolu_1", name: "look", arguments: #"{"up":true}"#)]
            daemon.mock.setScript(script, forModel: "sky")
            let body = #"{"model":"claude/sky","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}]}"#
            let reply = try await http.send(daemon, "/v1/responses", body: body)
            #expect(reply.status == 200, "\(reply.body)")
            let events = AnthropicFrontTests.events(reply.body)
            #expect(events.allSatisfy { $0.data["type"]?.stringValue == $0.name })
            #expect(events.map { Int($0.data["sequence_number"]?.intValue ?? -1) } == Array(0..<events.count))
            #expect(events.prefix(2).map(\.name) == ["response.created", "response.in_progress"])
            #expect(events.last?.name == "response.completed")
            let added = events.filter { $0.name == "response.output_item.added" }
            #expect(added.map { $0.data["item"]?["type"]?.stringValue } == ["reasoning", "message", "function_call"])
            #expect(added.map { $0.data["output_index"]?.intValue } == [0, 1, 2])
            // No delta before its item was added.
            for (position, event) in events.enumerated() where event.name.hasSuffix(".delta") {
                let index = event.data["output_index"]?.intValue
                #expect(events[..<position].contains { $0.name == "response.output_item.added" && $0.data["output_index"]?.intValue == index })
            }
            let completed = try #require(events.last?.data["response"])
            #expect(completed["status"] == "completed")
            let output = completed["output"]?.arrayValue ?? []
            #expect(output.count == 3)
            #expect(output[1]["content"]?.arrayValue?.first?["text"] == "Sunny today.")
            #expect(output[2]["call_id"] == "toolu_1")
            #expect(output[2]["arguments"] == #"{"up":true}"#)
            #expect((completed["usage"]?["total_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func storedStateIsRefusedAndAGETGets426() async throws {
        try await TestDaemon.with { daemon in
            let previous = try await http.send(
                daemon, "/v1/responses", body: #"{"model":"mock/default","input":"x","previous_response_id":"resp_1"}"#)
            #expect(previous.status == 400)
            #expect(previous.json?["error"]?["code"] == "previous_response_not_found")
            #expect(previous.json?["error"]?["param"] == "previous_response_id")
            let reference = try await http.send(
                daemon, "/v1/responses", body: #"{"model":"mock/default","input":[{"type":"item_reference","id":"msg_1"}]}"#)
            #expect(reference.status == 400)
            // (The SDK check sends the real upgrade headers; AsyncHTTPClient does not read an answer to them.)
            let upgrade = try await http.send(daemon, "/v1/responses", method: .GET)
            #expect(upgrade.status == 426)
            let noInput = try await http.send(daemon, "/v1/responses", body: #"{"model":"mock/default"}"#)
            #expect(noInput.status == 400)
            #expect(noInput.json?["error"]?["message"]?.stringValue?.contains("input") == true)
        }
    }
}
