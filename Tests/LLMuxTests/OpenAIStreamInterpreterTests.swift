import Foundation
import LLMuxUpstream
import LLMuxWire
import NIOHTTP1
import Testing

@Suite("OpenAI-compatible stream interpretation and provider variants")
struct OpenAIStreamInterpreterTests {
    func events(_ data: String, event: String? = nil) throws -> [UpstreamEvent] {
        var interpreter = OpenAIStreamInterpreter()
        return try interpreter.interpret(SSEEvent(event: event, data: data))
    }

    @Test func doneMarker() throws {
        #expect(try events("[DONE]") == [.end])
    }

    @Test func textDelta() throws {
        let chunk = #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#
        #expect(try events(chunk) == [.delta(text: "Hi", reasoning: nil, toolCalls: [])])
    }

    @Test func roleOnlyFirstChunkWithEmptyContentProducesNothing() throws {
        #expect(try events(#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#).isEmpty)
    }

    @Test func azureFilterChunkWithEmptyChoicesAndNoObject() throws {
        #expect(try events(#"{"id":"","choices":[],"prompt_filter_results":[{"prompt_index":0}]}"#).isEmpty)
    }

    @Test func finishReasonAndUsageInTheSameChunk() throws {
        let chunk =
            #"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.001}}"#
        #expect(try events(chunk) == [.usage(Usage(inputTokens: 10, outputTokens: 5)), .finish(reason: "length")])
    }

    @Test func usageChunkWithDetails() throws {
        let chunk =
            #"{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":40,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":12}}}"#
        #expect(try events(chunk) == [.usage(Usage(inputTokens: 100, outputTokens: 40, cachedTokens: 60, reasoningTokens: 12))])
    }

    @Test func groqUsageInsideXGroq() throws {
        let chunk = #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req","usage":{"prompt_tokens":7,"completion_tokens":3}}}"#
        #expect(try events(chunk) == [.usage(Usage(inputTokens: 7, outputTokens: 3)), .finish(reason: "stop")])
    }

    @Test func reasoningContentAndReasoningFields() throws {
        #expect(try events(#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#) == [.delta(text: nil, reasoning: "think", toolCalls: [])])
        #expect(try events(#"{"choices":[{"delta":{"reasoning":"hmm","content":"ok"}}]}"#) == [.delta(text: "ok", reasoning: "hmm", toolCalls: [])])
    }

    @Test func toolCallFragments() throws {
        let first =
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#
        let next = #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}"#
        #expect(try events(first) == [.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: 0, id: "call_1", name: "get_weather")])])
        #expect(try events(next) == [.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: 0, arguments: "{\"city\":")])])
    }

    @Test func midStreamErrorObject() throws {
        let chunk = #"{"error":{"message":"upstream overloaded","type":"server_error"}}"#
        #expect(try events(chunk) == [.error(message: "upstream overloaded (server_error)")])
    }

    @Test func openRouterErrorWithFinishReasonError() throws {
        let chunk =
            #"{"error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#
        #expect(try events(chunk) == [.error(message: "Provider disconnected")])
    }

    @Test func unknownKeysAndUnknownFinishReasonsPassThrough() throws {
        let chunk =
            #"{"weird":true,"choices":[{"index":0,"delta":{"content":"x","mystery":1},"finish_reason":"brand_new_reason","logprobs":null}],"timings":{"predicted_ms":3}}"#
        #expect(try events(chunk) == [.delta(text: "x", reasoning: nil, toolCalls: []), .finish(reason: "brand_new_reason")])
    }

    @Test func invalidJSONIsAnError() {
        #expect(throws: OpenAIStreamInterpreter.Failure.self) { try events("{not json") }
    }
}

@Suite("Retry-After parsing")
struct RetryAfterTests {
    @Test func secondsMillisecondsAndDates() {
        #expect(RetryAfter.milliseconds(from: ["retry-after": "2"]) == 2000)
        #expect(RetryAfter.milliseconds(from: ["retry-after": "1.5"]) == 1500)
        #expect(RetryAfter.milliseconds(from: ["retry-after-ms": "250", "retry-after": "9"]) == 250)
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(RetryAfter.milliseconds(from: ["retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"], now: now) == 30_000)
        #expect(RetryAfter.milliseconds(from: [:]) == nil)
        #expect(RetryAfter.milliseconds(from: ["retry-after": "soon"]) == nil)
    }

    @Test func rateLimitResetDurations() {
        #expect(RetryAfter.parseDuration("6m0s") == 360_000)
        #expect(RetryAfter.parseDuration("1.5s") == 1500)
        #expect(RetryAfter.parseDuration("20ms") == 20)
        #expect(RetryAfter.parseDuration("1h2m3s") == 3_723_000)
        #expect(RetryAfter.parseDuration("abc") == nil)
        #expect(RetryAfter.milliseconds(from: ["x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"]) == 360_000)
    }
}
