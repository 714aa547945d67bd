import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// Fill-in-the-middle completion on the socket: the `complete` frame on an OpenAI-compatible
/// `/completions` upstream, latest-wins `supersede`, `debounce_ms`, and the refusals.
@Suite("Code completion")
struct CompletionTests {
    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        OpenAISDKTests.configure(&config, mock)
        config.routes["fim"] = RouteConfig(
            name: "fim", targets: [RouteTarget(provider: "claude", upstreamModel: "no-fim"), RouteTarget(provider: "mock", upstreamModel: "coder")])
    }

    static func complete(_ id: String, prefix: String = "def add(a, b):\n    ", extra: String = "") -> String {
        #"{"type":"complete","id":"\#(id)","model":"fim","prefix":\#(JSONValue.string(prefix).jsonString),"suffix":"\n\nprint(add(1, 2))"\#(extra)}"#
    }

    @Test func aCompleteFrameStreamsFromTheCompletionsEndpoint() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["return ", "a + b"]), forModel: "coder")
            let extra = #","extra":[{"filename":"util.py","text":"import math"}],"max_tokens":64,"stop":["\n\n"],"temperature":0.2"#
            let log = try await daemon.connect { connection in
                try await connection.send(line: Self.complete("c", extra: extra))
                return try await FrameLog.read(from: connection, until: ["c"])
            }
            #expect(log.isWellFormed("c"))
            #expect(log.text("c") == "return a + b")
            guard case .done(let done)? = log.terminal("c") else {
                Issue.record("no done: \(log.frames("c"))")
                return
            }
            #expect(done.finishReason == "stop")
            #expect(done.attempts.map(\.target) == ["mock/coder"], "the Anthropic target serves no completions")
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.uri.hasSuffix("/completions") && !upstream.uri.hasSuffix("/chat/completions"), "\(upstream.uri)")
            #expect(upstream.body?["prompt"] == "util.py\nimport math\n\ndef add(a, b):\n    ")
            #expect(upstream.body?["suffix"] == "\n\nprint(add(1, 2))")
            #expect(upstream.body?["max_tokens"]?.intValue == 64)
            #expect(upstream.body?["stop"] == ["\n\n"])
            #expect(upstream.body?["stream"] == true)
            #expect(upstream.body?["messages"] == nil)
        }
    }

    /// Ten completions for one buffer, each sent while the previous streams: each newer one
    /// cancels the older at once (its upstream connection closed, `done` cancelled with reason
    /// `superseded`), and only the last answer runs to its end.
    @Test(.tags(.realTime), .fullTierOnly) func aNewerCompletionSupersedesTheOlderAtOnce() async throws {
        try await TestDaemon.with(exclusive: true, configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: Array(repeating: "x", count: 40), intervalMs: 25), forModel: "coder")
            var sentAt: [ContinuousClock.Instant] = []
            let log = try await daemon.connect { connection -> FrameLog in
                for index in 0..<10 {
                    sentAt.append(.now)
                    try await connection.send(line: Self.complete("k\(index)", prefix: "v\(index) = ", extra: #","supersede":"buffer-1""#))
                    // Let this one reach the upstream before the next replaces it.
                    for _ in 0..<400 where daemon.mock.requests.count <= index { try await Task.sleep(for: .milliseconds(5)) }
                }
                return try await FrameLog.read(from: connection, until: Set((0..<10).map { "k\($0)" }))
            }
            for index in 0..<9 {
                guard case .done(let done)? = log.terminal("k\(index)") else {
                    Issue.record("k\(index) did not end in done: \(log.frames("k\(index)"))")
                    continue
                }
                #expect(done.finishReason == "cancelled")
                #expect(done.cancelReason == "superseded")
            }
            guard case .done(let last)? = log.terminal("k9") else {
                Issue.record("the last completion did not finish: \(log.frames("k9"))")
                return
            }
            #expect(last.finishReason == "stop")
            #expect(last.cancelReason == nil)
            #expect(log.text("k9") == String(repeating: "x", count: 40))
            let requests = daemon.mock.requests
            #expect(requests.count == 10)
            for index in 0..<9 {
                let request = try #require(requests.first { $0.body?["prompt"]?.stringValue == "v\(index) = " })
                let closedAt = try #require(await daemon.mock.waitForClose(ofConnection: request.connectionID, timeout: .seconds(5)))
                #expect(closedAt - sentAt[index + 1] < .milliseconds(100), "k\(index) closed \(closedAt - sentAt[index + 1]) after its successor")
            }
        }
    }

    /// With `debounce_ms`, a burst of keystrokes costs one upstream request: the superseded ones
    /// end before any upstream is asked, at no cost.
    @Test func debounceSendsOnlyTheLatest() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["42"]), forModel: "coder")
            let log = try await daemon.connect { connection -> FrameLog in
                for index in 0..<5 {
                    try await connection.send(line: Self.complete("d\(index)", prefix: "n\(index) = ", extra: #","supersede":"b","debounce_ms":300"#))
                }
                return try await FrameLog.read(from: connection, until: Set((0..<5).map { "d\($0)" }))
            }
            #expect(daemon.mock.requests.map { $0.body?["prompt"]?.stringValue } == ["n4 = "])
            for index in 0..<4 {
                guard case .done(let done)? = log.terminal("d\(index)") else {
                    Issue.record("d\(index): \(log.frames("d\(index)"))")
                    continue
                }
                #expect(done.cancelReason == "superseded")
                #expect(done.attempts.isEmpty)
                #expect(done.cost?.usd ?? 0 == 0)
                #expect(done.usage?.inputTokens == 0)
            }
            #expect(log.text("d4") == "42")
        }
    }

    @Test(arguments: [
        (#"{"type":"complete","id":"c","model":"fim"}"#, "'prefix'"),
        (#"{"type":"complete","id":"c","model":"fim","prefix":"a","debounce_ms":60000}"#, "'debounce_ms'"),
        (#"{"type":"complete","id":"c","model":"fim","prefix":"a","extra":[{"filename":"x"}]}"#, "extra[0]"),
        (#"{"type":"complete","id":"c","model":"fim","prefix":"a","supersede":""}"#, "'supersede'"),
        (#"{"type":"complete","id":"c","model":"fim","prefix":7}"#, "'prefix'"),
    ])
    func badCompleteFramesAreInvalidRequests(_ line: String, _ fragment: String) async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            let log = try await daemon.connect { connection in
                try await connection.send(line: line)
                return try await FrameLog.read(from: connection, until: ["c"])
            }
            guard case .error(_, let error)? = log.terminal("c") else {
                Issue.record("expected an error: \(log.frames("c"))")
                return
            }
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test func aTargetWithoutCompletionsIsRefused() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            let log = try await daemon.connect { connection in
                try await connection.send(line: #"{"type":"complete","id":"c","model":"claude/sonnet","prefix":"a"}"#)
                return try await FrameLog.read(from: connection, until: ["c"])
            }
            guard case .error(_, let error)? = log.terminal("c") else {
                Issue.record("expected an error: \(log.frames("c"))")
                return
            }
            #expect(error.code == .unsupportedOperation)
            #expect(daemon.mock.requests.isEmpty)
        }
    }

    // MARK: HTTP

    /// Continue's autocomplete request, as it sends it: `prompt` and `suffix` to `/v1/completions`.
    @Test func aContinueStyleRequestStreamsTextCompletionChunks() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["return ", "a + b"]), forModel: "coder")
            let http = HTTPFrontTests()
            let body = #"{"model":"fim","prompt":"def add(a, b):\n    ","suffix":"\n","max_tokens":32,"stream":true,"stream_options":{"include_usage":true}}"#
            let reply = try await http.send(daemon, "/v1/completions", body: body)
            #expect(reply.status == 200, "\(reply.body)")
            let events = reply.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSONValue.parse($0) }
            #expect(chunks.allSatisfy { $0["object"] == "text_completion" }, "\(reply.body)")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["text"]?.stringValue }.joined()
            #expect(text == "return a + b")
            #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
            #expect(chunks.last?["usage"]?["completion_tokens"] != nil, "include_usage adds the usage chunk")
            #expect(daemon.mock.requests.last?.body?["suffix"] == "\n")

            let whole = try await http.send(daemon, "/v1/completions", body: #"{"model":"fim","prompt":"x = ","suffix":";"}"#)
            #expect(whole.json?["object"] == "text_completion", "\(whole.body)")
            #expect(whole.json?["choices"]?.arrayValue?.first?["text"] == "return a + b")
            let refused = try await http.send(daemon, "/v1/completions", body: #"{"model":"fim","prompt":["a","b"]}"#)
            #expect(refused.status == 400)
        }
    }

    /// `x-llmux-supersede`: a newer HTTP completion with the same key from the same peer cancels
    /// the older one, whose upstream request is closed while the newer one answers.
    @Test func theSupersedeHeaderCancelsTheOlderHTTPCompletion() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: Array(repeating: "y", count: 200), intervalMs: 20), forModel: "coder")
            let http = HTTPFrontTests()
            let headers = ["x-llmux-supersede": "buffer-7"]
            async let older = http.send(daemon, "/v1/completions", body: #"{"model":"fim","prompt":"old","stream":true}"#, headers: headers)
            for _ in 0..<400 where daemon.mock.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            let olderConnection = try #require(daemon.mock.requests.first?.connectionID)
            daemon.mock.setScript(MockScript(chunks: ["new"]), forModel: "coder")
            let newer = try await http.send(daemon, "/v1/completions", body: #"{"model":"fim","prompt":"new","stream":true}"#, headers: headers)
            #expect(newer.body.contains(#""text":"new""#), "\(newer.body)")
            #expect(await daemon.mock.waitForClose(ofConnection: olderConnection, timeout: .seconds(10)) != nil)
            let cut = try await older
            #expect(cut.body.components(separatedBy: #""text":"y""#).count - 1 < 200, "the older completion was cut short")
            #expect(cut.body.hasSuffix("data: [DONE]\n\n"))
        }
    }

    // MARK: Mistral and llama.cpp

    static func configureFIMKinds(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        var mistral = ProviderConfig(name: "mistral", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        mistral.fimAPI = .mistral
        config.providers["mistral"] = mistral
        var llama = ProviderConfig(name: "llama", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        llama.fimAPI = .infill
        config.providers["llama"] = llama
    }

    func completeLog(_ daemon: TestDaemon, _ line: String) async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: line)
            return try await FrameLog.read(from: connection, until: ["c"])
        }
    }

    @Test func mistralsFIMEndpointAnswersInTheChatShape() async throws {
        try await TestDaemon.with(configure: Self.configureFIMKinds) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["a + ", "b"]), forModel: "codestral")
            let log = try await completeLog(daemon, #"{"type":"complete","id":"c","model":"mistral/codestral","prefix":"x = ","suffix":";","max_tokens":8}"#)
            #expect(log.text("c") == "a + b")
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.uri.hasSuffix("/v1/fim/completions"), "\(upstream.uri)")
            #expect(upstream.body?["prompt"] == "x = ")
            #expect(upstream.body?["suffix"] == ";")
            #expect(upstream.body?["stream_options"] == nil, "Mistral refuses fields it does not know")
        }
    }

    @Test func llamaCppsInfillGetsItsOwnFieldsAndIsReadBack() async throws {
        try await TestDaemon.with(configure: Self.configureFIMKinds) { daemon in
            var script = MockScript(chunks: ["return ", "a"])
            script.finishReason = "length"
            daemon.mock.setScript(script, forModel: "qwen")
            let extra = #","extra":[{"filename":"u.py","text":"import os"}],"max_tokens":16,"t_max_predict_ms":500"#
            let log = try await completeLog(daemon, #"{"type":"complete","id":"c","model":"llama/qwen","prefix":"def f(a):\n    ","suffix":"\n"\#(extra)}"#)
            #expect(log.text("c") == "return a")
            guard case .done(let done)? = log.terminal("c") else {
                Issue.record("no done: \(log.frames("c"))")
                return
            }
            #expect(done.finishReason == "length", "stop_type limit")
            #expect(done.usage?.outputTokens == 2)
            #expect(done.usage?.estimated == false)
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.uri == "/infill", "at the server's root, not under /v1: \(upstream.uri)")
            #expect(upstream.body?["input_prefix"] == "def f(a):\n    ")
            #expect(upstream.body?["input_suffix"] == "\n")
            #expect(upstream.body?["input_extra"] == [["filename": "u.py", "text": "import os"]])
            #expect(upstream.body?["n_predict"]?.intValue == 16)
            #expect(upstream.body?["max_tokens"] == nil)
            #expect(upstream.body?["cache_prompt"] == true)
            #expect(upstream.body?["t_max_predict_ms"]?.intValue == 500)
        }
    }

    /// llama.vim's request to `/infill`, and Mistral's to `/v1/fim/completions`, answered in their
    /// own shapes from any FIM upstream.
    @Test func theInfillAndMistralFrontsAnswerInTheirShapes() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["return ", "a + b"]), forModel: "coder")
            let http = HTTPFrontTests()
            let vim =
                #"{"model":"fim","input_prefix":"def add(a, b):\n","prompt":"    ","input_suffix":"\n","input_extra":[{"filename":"m.py","text":"x = 1"}],"n_predict":64,"t_max_predict_ms":500,"stream":false}"#
            let reply = try await http.send(daemon, "/infill", body: vim)
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json?["content"] == "return a + b")
            #expect(reply.json?["stop"] == true)
            #expect(reply.json?["stop_type"] == "eos")
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.body?["prompt"] == "m.py\nx = 1\n\ndef add(a, b):\n    ", "the typed line joins the prefix")
            #expect(upstream.body?["max_tokens"]?.intValue == 64)

            let before = daemon.mock.requests.count
            let warmUp = try await http.send(daemon, "/infill", body: #"{"input_prefix":"a","input_suffix":"b","n_predict":0}"#)
            #expect(warmUp.json?["content"] == "")
            #expect(daemon.mock.requests.count == before, "a warm-up asks no upstream")

            let streamed = try await http.send(daemon, "/infill", body: #"{"model":"fim","input_prefix":"x","stream":true}"#)
            let events = streamed.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.compactMap {
                try? JSONValue.parse(String($0.dropFirst(6)))
            }
            #expect(events.compactMap { $0["content"]?.stringValue }.joined() == "return a + b")
            #expect(events.last?["stop"] == true)

            let mistral = try await http.send(daemon, "/v1/fim/completions", body: #"{"model":"fim","prompt":"x = ","suffix":";"}"#)
            #expect(mistral.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "return a + b", "\(mistral.body)")
            let mistralStream = try await http.send(daemon, "/v1/fim/completions", body: #"{"model":"fim","prompt":"x = ","stream":true}"#)
            #expect(mistralStream.body.contains(#""delta":{"role":"assistant","content":"return "}"#), "\(mistralStream.body)")
        }
    }
}
