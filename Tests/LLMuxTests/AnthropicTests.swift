import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxUpstream
import LLMuxWire
import NIOCore
import Testing

@Suite("Anthropic Messages")
struct AnthropicTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let path = RepositoryPaths.root + "/Tests/LLMuxTests/Fixtures/" + name
        return Array(try #require(FileManager.default.contents(atPath: path)))
    }

    /// Feeds `bytes` split at random boundaries (seeded) through the SSE parser and `interpreter`.
    static func run(_ bytes: [UInt8], seed: UInt64, interpreter: some StreamInterpreter) throws -> [UpstreamEvent] {
        var interpreter = interpreter
        var parser = SSEParser(limits: .default)
        var generator = SplitMix64(state: seed)
        var events: [UpstreamEvent] = []
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int.random(in: 1...97, using: &generator))
            var sse: [SSEEvent] = []
            try parser.feed(bytes[offset..<offset + length], into: &sse)
            for event in sse { events += try interpreter.interpret(event) }
            offset += length
        }
        return events
    }

    @Test(arguments: [1, 2, 3, 42, 1234] as [UInt64])
    func fullSequenceAtRandomSplits(seed: UInt64) throws {
        let events = try Self.run(Self.fixture("anthropic-full.sse"), seed: seed, interpreter: AnthropicStreamInterpreter())
        var text = ""
        var reasoning = ""
        var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
        var usage: Usage?
        var finish: String?
        var ended = false
        var errors: [String] = []
        for event in events {
            switch event {
            case .delta(let t, let r, let toolCalls):
                text += t ?? ""
                reasoning += r ?? ""
                for call in toolCalls {
                    var entry = calls[call.index] ?? (nil, nil, "")
                    if let id = call.id { entry.id = id }
                    if let name = call.name { entry.name = name }
                    #expect(call.arguments != "{}" && call.arguments != "", "the initial {} or an empty piece was emitted")
                    entry.arguments += call.arguments ?? ""
                    calls[call.index] = entry
                }
            case .usage(let u): usage = u
            case .finish(let reason): finish = reason
            case .end: ended = true
            case .error(let message): errors.append(message)
            case .native: Issue.record("an interpreter produced a native event")
            case .reasoningState: break
            case .embeddings: Issue.record("an interpreter produced embeddings")
            }
        }
        #expect(text == "Checking both — ünïcode ✓.")
        #expect(reasoning == "The user wants weather for two cities.")
        // Tool ordinals 0 and 1, not the block indexes 2 and 3.
        #expect(calls.keys.sorted() == [0, 1])
        #expect(calls[0]?.id == "toolu_01" && calls[0]?.name == "get_weather" && calls[0]?.arguments == #"{"city": "Paris"}"#)
        #expect(calls[1]?.id == "toolu_02" && calls[1]?.arguments == #"{"city": "Oslo"}"#)
        #expect(finish == "tool_calls")
        #expect(ended)
        // Prompt = input + cache creation + cache read; cached = cache read; cache writes = cache
        // creation, counted apart; output cumulative.
        #expect(usage == Usage(inputTokens: 135, outputTokens: 87, cachedTokens: 100, cacheWriteTokens: 10))
        #expect(errors == ["Overloaded (overloaded_error)"])
    }

    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
        ("refusal", "content_filter"), ("model_context_window_exceeded", "length"), ("pause_turn", "stop"), ("brand_new", "brand_new"),
    ])
    func stopReasons(_ pair: (String, String)) throws {
        var interpreter = AnthropicStreamInterpreter()
        let events = try interpreter.interpret(
            SSEEvent(event: "message_delta", data: #"{"type":"message_delta","delta":{"stop_reason":"\#(pair.0)"},"usage":{"output_tokens":3}}"#))
        #expect(events.contains(.finish(reason: pair.1)))
    }

    @Test func requestTranslation() throws {
        let request = try #require(
            { () -> ChatRequest? in
                let line = #"""
                    {"type":"chat","id":"t","model":"claude/x","max_tokens":300,"temperature":0.3,"stop":"END","n":1,"frequency_penalty":1,
                    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
                    "tool_choice":"required",
                    "messages":[
                      {"role":"system","content":"Be brief."},
                      {"role":"user","content":[{"type":"text","text":"Look:"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K"}}]},
                      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
                      {"role":"tool","tool_call_id":"call_1","content":"sunny"},
                      {"role":"user","content":"thanks"}
                    ]}
                    """#.replacingOccurrences(of: "\n", with: "")
                guard case .chat(let request) = try? ClientFrame.decode(line: ByteBuffer(string: line)) else { return nil }
                return request
            }())
        let body = try JSONValue.parse(String(buffer: AnthropicRequestBuilder.body(for: request, upstreamModel: "claude-sonnet-4")))
        #expect(body["model"] == "claude-sonnet-4")
        #expect(body["stream"] == true)
        #expect(body["max_tokens"] == 300)
        #expect(body["temperature"] == 0.3)
        #expect(body["stop_sequences"] == ["END"])
        #expect(body["system"] == "Be brief.")
        #expect(body["frequency_penalty"] == nil, "OpenAI-only options are dropped")
        #expect(body["tool_choice"] == ["type": "any"])
        #expect(body["tools"]?.arrayValue?.first?["input_schema"]?["type"] == "object")
        #expect(body["tools"]?.arrayValue?.first?["name"] == "get_weather")
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])
        #expect(messages[0]["content"]?.arrayValue?[1]["source"] == ["type": "base64", "media_type": "image/png", "data": "iVBORw0K"])
        #expect(messages[1]["content"]?.arrayValue?[0] == ["type": "tool_use", "id": "call_1", "name": "get_weather", "input": ["city": "Paris"]])
        // The tool result and the next user text merge into one user turn.
        #expect(messages[2]["content"]?.arrayValue?[0] == ["type": "tool_result", "tool_use_id": "call_1", "content": "sunny"])
        #expect(messages[2]["content"]?.arrayValue?[1] == ["type": "text", "text": "thanks"])
        // Without max_tokens, the documented default.
        let bare = try JSONValue.parse(String(buffer: AnthropicRequestBuilder.body(for: .userPrompt(id: "b", model: nil, prompt: "hi"), upstreamModel: "m")))
        #expect(bare["max_tokens"]?.intValue == Int64(AnthropicRequestBuilder.defaultMaxTokens))
    }

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        config.providers["claude"] = ProviderConfig(
            name: "claude", kind: .anthropic, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
    }

    @Test func anthropicAndOpenAIUpstreamsGiveTheSameFrames() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var script = MockScript(chunks: ["Checking ", "the ", "weather."])
            script.toolCalls = [MockToolCall(id: "call_9", name: "get_weather", arguments: #"{"city":"Paris"}"#)]
            script.reasoningChunks = ["Think ", "first."]
            script.cachedTokens = 7
            daemon.mock.setDefaultScript(script)
            var dones: [DoneFrame] = []
            var texts: [String] = []
            var reasonings: [String] = []
            for model in ["claude/m", "mock/m"] {
                let log = try await daemon.connect { connection in
                    try await connection.send(line: chatLine("r", model: model))
                    return try await FrameLog.read(from: connection, until: ["r"])
                }
                #expect(log.isWellFormed("r"))
                guard case .done(let done)? = log.terminal("r") else {
                    Issue.record("\(model): \(log.all)")
                    return
                }
                dones.append(done)
                texts.append(log.text("r"))
                reasonings.append(log.frames("r").compactMap { if case .delta(let d) = $0 { return d.reasoning } else { return nil } }.joined())
            }
            #expect(texts == ["Checking the weather.", "Checking the weather."])
            #expect(reasonings == ["Think first.", "Think first."])
            #expect(dones.map(\.finishReason) == ["tool_calls", "tool_calls"])
            #expect(dones[0].toolCalls == dones[1].toolCalls)
            #expect(dones[0].toolCalls == [ToolCallFragment(index: 0, id: "call_9", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
            #expect(dones[0].usage?.cachedTokens == 7)
            // The Anthropic request carried the key as x-api-key and the API version.
            let sent = try #require(daemon.mock.requests.first { $0.uri.hasSuffix("/messages") })
            #expect(sent.header("x-api-key") == TestDaemon.apiKey)
            #expect(sent.header("anthropic-version") == "2023-06-01")
            #expect(sent.header("authorization") == nil)
        }
    }

    @Test(arguments: ["529", "overloaded event"])
    func overloadedAnthropicFallsBackToOpenAI(_ fault: String) async throws {
        try await TestDaemon.with(configure: { config, mock in
            Self.configure(&config, mock)
            config.routes["smart"] = RouteConfig(
                name: "smart",
                targets: [RouteTarget(provider: "claude", upstreamModel: "busy"), RouteTarget(provider: "mock", upstreamModel: "spare")]
            )
        }) { daemon in
            daemon.mock.setScript(
                fault == "529" ? .httpError(529) : MockScript(chunks: ["x"], fault: .errorEventAfterChunks(0, message: "Overloaded")),
                forModel: "busy"
            )
            daemon.mock.setScript(MockScript(chunks: ["from openai"]), forModel: "spare")
            let log = try await daemon.connect { connection in
                try await connection.send(line: chatLine("r", model: "smart"))
                return try await FrameLog.read(from: connection, until: ["r"])
            }
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("\(log.all)")
                return
            }
            #expect(log.text("r") == "from openai")
            #expect(done.attempts.map(\.outcome) == [fault == "529" ? "upstream_http" : "upstream_error", "ok"])
        }
    }
}
