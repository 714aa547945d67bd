import AsyncHTTPClient
import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOHTTP1
import Testing

/// The OpenAI-compatible HTTP front, over a real Unix socket and loopback TCP.
@Suite("HTTP front")
struct HTTPFrontTests {
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        /// When each body part arrived, relative to the request.
        var arrivals: [Duration]

        var json: JSONValue? { try? JSONValue.parse(self.body) }

        /// The `data:` payloads of an event stream, in order.
        var events: [String] {
            self.body.components(separatedBy: "\n\n").compactMap { event in
                event.hasPrefix("data: ") ? String(event.dropFirst(6)) : nil
            }
        }
    }

    /// `tcp: false` goes through the Unix socket.
    func send(
        _ daemon: TestDaemon,
        _ path: String,
        method: HTTPMethod = .POST,
        body: String? = nil,
        tcp: Bool = false,
        token: String?? = .none,
        headers: [String: String] = [:]
    ) async throws -> Reply {
        let base: String
        if tcp {
            base = try #require(daemon.httpBaseURL)
        } else {
            base = "http+unix://" + daemon.httpSocketPath.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "content-type", value: "application/json")
        }
        // Like the OpenAI SDK: JSON accepted even when streaming.
        request.headers.add(name: "accept", value: "application/json")
        switch token {
        case .none: if tcp, let token = daemon.token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        case .some(let value?): request.headers.add(name: "authorization", value: "Bearer \(value)")
        case .some(nil): break
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let started = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var collected = ""
        var arrivals: [Duration] = []
        for try await part in response.body {
            arrivals.append(ContinuousClock.now - started)
            collected += String(buffer: part)
        }
        return Reply(status: Int(response.status.code), headers: response.headers, body: collected, arrivals: arrivals)
    }

    static func chatBody(model: String = "mock/default", stream: Bool, extra: String = "") -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"Explain the benefits of streaming."}],"stream":\#(stream)\#(extra)}"#
    }

    @Test(.tags(.realTime), .fullTierOnly) func streamsOpenAIChunksOneEventPerDeltaThenDone() async throws {
        // Exclusive: it measures when events arrive.
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["Lower ", "latency", "."], intervalMs: 250))
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: true))
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "content-type") == "text/event-stream")
            #expect(reply.headers.first(name: "content-length") == nil, "a stream is chunked")
            let events = reply.events
            #expect(events.last == "[DONE]")
            #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
            let chunks = events.dropLast().compactMap { try? JSONValue.parse($0) }
            #expect(chunks.count == 4, "3 deltas and the finish chunk: \(events)")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "Lower latency.")
            #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" && $0["id"]?.stringValue?.hasPrefix("chatcmpl-") == true })
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(!reply.body.contains("\"usage\""), "no usage chunk unless include_usage was asked for")
            // Flushed as produced: the deltas arrived spread over the 500 ms of the stream, not at once.
            #expect(reply.arrivals.count >= 3)
            if let first = reply.arrivals.first, let last = reply.arrivals.last {
                #expect(last - first >= .milliseconds(200), "events arrived together: \(reply.arrivals)")
            }
        }
    }

    @Test func includeUsageAddsTheUsageChunkLast() async throws {
        try await TestDaemon.with { daemon in
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: true, extra: #","stream_options":{"include_usage":true}"#))
            let chunks = reply.events.dropLast().compactMap { try? JSONValue.parse($0) }
            let last = try #require(chunks.last)
            #expect(last["choices"] == .array([]))
            #expect(last["usage"]?["prompt_tokens"]?.intValue != nil)
            #expect(last["usage"]?["total_tokens"]?.intValue != nil)
            #expect(chunks.dropLast().allSatisfy { $0["usage"] == nil })
        }
    }

    @Test func nonStreamedCallGetsOneCompletion() async throws {
        try await TestDaemon.with { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["Hello", " there"]))
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: false))
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "content-type") == "application/json")
            let json = try #require(reply.json)
            #expect(json["object"] == "chat.completion")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello there")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["role"] == "assistant")
            #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(json["usage"]?["completion_tokens"]?.intValue == 2)
        }
    }

    @Test func toolCallsUseTheOpenAIChunkShape() async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript(chunks: [])
            script.toolCalls = [MockToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]
            daemon.mock.setDefaultScript(script)
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: true))
            let chunks = reply.events.dropLast().compactMap { try? JSONValue.parse($0) }
            let calls = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first }
            #expect(calls.first?["id"] == "call_1")
            #expect(calls.first?["type"] == "function")
            #expect(calls.first?["function"]?["name"] == "get_weather")
            #expect(calls.allSatisfy { $0["index"] == 0 })
            #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city":"Paris"}"#)
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
            // Not streamed: the assembled call.
            let whole = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: false))
            let message = whole.json?["choices"]?.arrayValue?.first?["message"]
            #expect(message?["content"] == .null)
            #expect(message?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"city":"Paris"}"#)
        }
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var script: MockScript?
        var model: String = "mock/default"
        var status: Int
        var code: String
        var shouldRetryFalse: Bool
        var retryAfter: String?
        /// The code of the second call, when the first changed the target's state (a cooldown).
        var secondCode: String?
        var testDescription: String { self.name }
    }

    @Test(arguments: [
        ErrorCase(name: "unknown model", model: "nope", status: 404, code: "unknown_model", shouldRetryFalse: true),
        ErrorCase(name: "upstream 400", script: .httpError(400), status: 400, code: "upstream_http", shouldRetryFalse: true),
        ErrorCase(
            name: "upstream 429", script: .httpError(429, headers: ["retry-after": "60"]), status: 429, code: "upstream_http", shouldRetryFalse: false,
            retryAfter: "60", secondCode: "rate_limited"),
        ErrorCase(name: "upstream 503", script: .httpError(503), status: 502, code: "upstream_http", shouldRetryFalse: false),
        ErrorCase(name: "upstream 401", script: .httpError(401), status: 502, code: "auth_failed", shouldRetryFalse: true),
        ErrorCase(name: "upstream unreachable", script: MockScript(fault: .resetBeforeHeaders), status: 502, code: "upstream_connect", shouldRetryFalse: false),
    ])
    func errorsBeforeStreamingUseTheOpenAIShape(_ testCase: ErrorCase) async throws {
        try await TestDaemon.with { daemon in
            if let script = testCase.script { daemon.mock.setDefaultScript(script) }
            for stream in [true, false] {
                let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(model: testCase.model, stream: stream))
                #expect(reply.status == testCase.status, "\(reply.body)")
                let code = stream ? testCase.code : (testCase.secondCode ?? testCase.code)
                #expect(reply.json?["error"]?["code"]?.stringValue == code, "\(reply.body)")
                #expect(reply.json?["error"]?["message"]?.stringValue?.isEmpty == false)
                #expect((reply.headers.first(name: "x-should-retry") == "false") == testCase.shouldRetryFalse)
                if let expected = testCase.retryAfter.flatMap(Int.init) {
                    // The second call reports what is left of the cooldown.
                    let seconds = reply.headers.first(name: "retry-after").flatMap(Int.init) ?? -1
                    #expect((expected - 10...expected).contains(seconds), "retry-after \(seconds)")
                } else {
                    #expect(reply.headers.first(name: "retry-after") == nil)
                }
                #expect(!reply.body.contains(TestDaemon.apiKey))
            }
        }
    }

    @Test func anErrorAfterStreamingStartedIsADataEventThenTheEnd() async throws {
        try await TestDaemon.with { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["a", "b", "c"], fault: .resetAfterChunks(2)))
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: true))
            #expect(reply.status == 200)
            let last = try #require(reply.events.last.flatMap { try? JSONValue.parse($0) })
            #expect(last["error"]?["code"] == "upstream_interrupted")
            #expect(!reply.body.contains("[DONE]"), "an interrupted stream must not look complete")
        }
    }

    @Test func fallbackWorksForHTTPClientsToo() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.routes["smart-select"] = RouteConfig(
                name: "smart-select",
                targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "mock", upstreamModel: "up")]
            )
        }) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(chunks: ["from the second target"]), forModel: "up")
            let reply = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(model: "smart-select", stream: true))
            #expect(reply.status == 200)
            let text = reply.events.dropLast().compactMap { try? JSONValue.parse($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "from the second target")
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func aClientThatHangsUpAbortsTheUpstreamRequest() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(.counting(1000, intervalMs: 20))
            var request = HTTPClientRequest(
                url: "http+unix://" + daemon.httpSocketPath.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "/v1/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: Self.chatBody(stream: true)))
            let reader = Task {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                for try await _ in response.body { break }
            }
            try await reader.value
            let connection = try #require(daemon.mock.requests.last?.connectionID)
            // Leaving the body unread and dropping the response closes the HTTP connection.
            let closed = await daemon.mock.waitForClose(ofConnection: connection, timeout: .seconds(2))
            #expect(closed != nil, "the upstream request kept running after the HTTP client left")
        }
    }

    @Test func modelsAndHealth() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.routes["smart"] = RouteConfig(name: "smart", targets: [RouteTarget(provider: "mock", upstreamModel: "x")])
        }) { daemon in
            let models = try await send(daemon, "/v1/models", method: .GET)
            #expect(models.status == 200)
            #expect(models.json?["object"] == "list")
            let ids = models.json?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(Set(ids).isSuperset(of: ["fast", "smart", "mock/default"]))
            #expect(models.json?["data"]?.arrayValue?.allSatisfy { $0["object"] == "model" } == true)
            let health = try await send(daemon, "/health", method: .GET)
            #expect(health.status == 200)
            #expect(health.json?["status"] == "ok")
        }
    }

    @Test func metricsInPrometheusFormat() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.routes["smart"] = RouteConfig(
                name: "smart",
                targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "mock", upstreamModel: "up")]
            )
            config.prices["mock/up"] = PriceOverride(inputPerMillion: 1_000, outputPerMillion: 1_000)
        }) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            _ = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(model: "smart", stream: true))
            _ = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(model: "nope", stream: false))
            // A socket request counts the same.
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("s1"))
                _ = try await FrameLog.read(from: connection, until: ["s1"])
            }
            let metrics = try await send(daemon, "/metrics", method: .GET)
            #expect(metrics.status == 200)
            #expect(metrics.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let lines = Set(metrics.body.split(separator: "\n").map(String.init))
            #expect(lines.contains(#"llmux_requests_total{route="smart",provider="mock",outcome="stop"} 1"#), "\(metrics.body)")
            #expect(lines.contains(#"llmux_requests_total{route="",provider="mock",outcome="stop"} 1"#))
            #expect(lines.contains(#"llmux_requests_total{route="",provider="",outcome="unknown_model"} 1"#))
            #expect(lines.contains(#"llmux_time_to_first_token_seconds_count{route="smart",provider="mock"} 1"#))
            #expect(lines.contains("llmux_requests_in_flight 0.0"))
            #expect(lines.contains { $0.hasPrefix(#"llmux_tokens_total{provider="mock",kind="output"}"#) })
            #expect(lines.contains { $0.hasPrefix(#"llmux_cost_usd_total{route="smart",provider="mock"}"#) }, "\(metrics.body)")
        }
    }

    @Test func tcpNeedsTheBearerToken() async throws {
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            let token = try #require(daemon.token)
            #expect(token.hasPrefix("llmux-") && token.count > 30)
            var info = stat()
            #expect(stat(daemon.directory + "/config/llmux/token", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            let missing = try await send(daemon, "/v1/models", method: .GET, tcp: true, token: .some(nil))
            #expect(missing.status == 401)
            #expect(missing.json?["error"]?["code"] == "invalid_api_key")
            let wrong = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: true), tcp: true, token: "llmux-wrong")
            #expect(wrong.status == 401)
            #expect(daemon.mock.requests.isEmpty, "an unauthorized request reached the upstream")
            let right = try await send(daemon, "/v1/chat/completions", body: Self.chatBody(stream: false), tcp: true)
            #expect(right.status == 200, "\(right.body)")
        }
    }

    @Test func nonLoopbackListenIsRefusedUnlessForced() throws {
        let loader = ConfigLoader(environment: [:])
        let base = "[providers.a]\nbase_url = \"https://x.example\"\n"
        #expect(throws: ConfigError.self) { try loader.parse("http_listen = \"0.0.0.0:8080\"\n" + base, path: "c.toml") }
        let forced = try loader.parse("http_listen = \"0.0.0.0:8080\"\nhttp_allow_remote = true\n" + base, path: "c.toml")
        #expect(forced.http.listen == HostPort(host: "0.0.0.0", port: 8080))
        let local = try loader.parse("http_listen = \"localhost:9000\"\n" + base, path: "c.toml")
        #expect(local.http.listen == HostPort(host: "127.0.0.1", port: 9000))
        #expect(throws: ConfigError.self) { try loader.parse("http_listen = \"8080\"\n" + base, path: "c.toml") }
    }
}
