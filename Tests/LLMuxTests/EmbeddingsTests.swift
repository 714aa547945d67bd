import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// Embeddings end to end: the `embed` frame and `POST /v1/embeddings` on the engine (routes
/// over targets that serve embeddings, fallback, cost), float and base64, and the refusals.
@Suite("Embeddings")
struct EmbeddingsTests {
    let http = HTTPFrontTests()

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        OpenAISDKTests.configure(&config, mock)
        config.models["vec"] = ModelConfig(name: "vec", provider: "mock", upstreamModel: "vec", serves: ["embeddings"])
        config.models["chatty"] = ModelConfig(name: "chatty", provider: "mock", upstreamModel: "chatty", serves: ["chat"])
        config.routes["embed"] = RouteConfig(
            name: "embed",
            targets: [
                RouteTarget(provider: "claude", upstreamModel: "no-embeddings"), RouteTarget(provider: "mock", upstreamModel: "down"),
                RouteTarget(provider: "mock", upstreamModel: "vec"),
            ])
        config.routes["chat-only"] = RouteConfig(
            name: "chat-only", targets: [RouteTarget(provider: "claude", upstreamModel: "x"), RouteTarget(provider: "mock", upstreamModel: "chatty")])
        config.prices["mock/vec"] = PriceOverride(inputPerMillion: 20, outputPerMillion: 1000)
    }

    /// The mock's vector for input `index` of `bytes` bytes (see `MockHTTPHandler.embeddings`).
    static func expected(_ index: Int, bytes: Int, dimensions: Int = 4) -> [Double] {
        (0..<dimensions).map { j in Double((index * 7 + j * 3 + bytes) % 64 - 32) / 64 }
    }

    func answer(_ daemon: TestDaemon, _ line: String) async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: line)
            return try await FrameLog.read(from: connection, until: ["e"])
        }
    }

    @Test func anEmbedFrameGetsOneFrameWithTheVectorsAfterAFallback() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            let log = try await answer(daemon, #"{"type":"embed","id":"e","model":"embed","input":["alpha","be"],"dimensions":3}"#)
            #expect(log.frames("e").count == 1, "one frame, no start: \(log.frames("e"))")
            guard case .embeddings(let frame)? = log.terminal("e") else {
                Issue.record("expected embeddings: \(log.frames("e"))")
                return
            }
            #expect(frame.vectors == [Self.expected(0, bytes: 5, dimensions: 3), Self.expected(1, bytes: 2, dimensions: 3)])
            #expect(frame.model == "vec")
            #expect(frame.provider == "mock")
            #expect(frame.route == "embed")
            #expect(frame.usage?.inputTokens == 3)
            #expect(frame.usage?.outputTokens == 0)
            // Input only: 3 tokens at $20 per million; the output price never counts.
            #expect(abs((frame.cost?.usd ?? 0) - 3.0 * 20 / 1_000_000) < 1e-15, "\(String(describing: frame.cost))")
            // The Anthropic target serves no embeddings: never tried; the failing one was.
            #expect(frame.attempts.map(\.target) == ["mock/down", "mock/vec"])
            #expect(!daemon.mock.requests.contains { $0.uri.hasSuffix("/messages") })
            let upstream = try #require(daemon.mock.requests.last)
            #expect(upstream.uri.hasSuffix("/embeddings"))
            #expect(upstream.body?["encoding_format"] == "float")
            #expect(upstream.body?["dimensions"]?.intValue == 3)
        }
    }

    @Test func targetsThatServeNoEmbeddingsAreRefusedWithAStableCode() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            for model in ["chat-only", "chatty", "claude/anything"] {
                let log = try await answer(daemon, #"{"type":"embed","id":"e","model":"\#(model)","input":"x"}"#)
                guard case .error(_, let error)? = log.terminal("e") else {
                    Issue.record("\(model): expected an error, got \(log.frames("e"))")
                    continue
                }
                #expect(error.code == .unsupportedOperation, "\(model): \(error)")
                #expect(error.message.contains("serves no embeddings"), "\(error.message)")
            }
            #expect(daemon.mock.requests.isEmpty)
            // A model that says it serves only embeddings takes no chat.
            let chat = try await daemon.connect { connection in
                try await connection.send(line: chatLine("e", model: "vec"))
                return try await FrameLog.read(from: connection, until: ["e"])
            }
            guard case .error(_, let error)? = chat.terminal("e") else {
                Issue.record("expected an error: \(chat.frames("e"))")
                return
            }
            #expect(error.code == .unsupportedOperation)
        }
    }

    /// A budget's downgrade route is filtered like the route asked for: its target that serves
    /// no embeddings is never tried.
    @Test func aDowngradeRouteLeavesOutTargetsThatServeNoEmbeddings() async throws {
        try await TestDaemon.with(configure: { config, mock in
            Self.configure(&config, mock)
            config.prices["mock/vec-dear"] = PriceOverride(inputPerMillion: 1_000_000, outputPerMillion: 0)
            config.prices["mock/vec-cheap"] = PriceOverride(inputPerMillion: 0, outputPerMillion: 0)
            var dear = RouteConfig(name: "dear", targets: [RouteTarget(provider: "mock", upstreamModel: "vec-dear")])
            dear.downgradeRoute = "cheap"
            config.routes["dear"] = dear
            config.routes["cheap"] = RouteConfig(
                name: "cheap",
                targets: [RouteTarget(provider: "claude", upstreamModel: "no-embeddings"), RouteTarget(provider: "mock", upstreamModel: "vec-cheap")])
            config.budgets = BudgetConfig(limits: [BudgetConfig.Limit(scope: .route("dear"), period: .day, usd: 0.5)])
        }) { daemon in
            let log = try await answer(daemon, #"{"type":"embed","id":"e","model":"dear","input":"alpha"}"#)
            guard case .embeddings(let frame)? = log.terminal("e") else {
                Issue.record("expected embeddings: \(log.frames("e"))")
                return
            }
            #expect(frame.route == "cheap")
            #expect(frame.attempts.map(\.target) == ["mock/vec-cheap"])
            #expect(!daemon.mock.requests.contains { $0.uri.hasSuffix("/messages") })
        }
    }

    @Test(arguments: [
        (#"{"type":"embed","id":"e","model":"vec","input":5}"#, "'input'"),
        (#"{"type":"embed","id":"e","model":"vec","input":[]}"#, "must not be empty"),
        (#"{"type":"embed","id":"e","model":"vec","input":["a",1]}"#, "'input'"),
        (#"{"type":"embed","id":"e","model":"vec"}"#, "missing field 'input'"),
        (#"{"type":"embed","id":"e","model":"vec","input":"a","dimensions":0}"#, "'dimensions'"),
    ])
    func badEmbedFramesAreInvalidRequests(_ line: String, _ fragment: String) async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            let log = try await answer(daemon, line)
            guard case .error(_, let error)? = log.terminal("e") else {
                Issue.record("expected an error: \(log.frames("e"))")
                return
            }
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test func theHTTPFrontAnswersInFloatsAndInBase64() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            let float = try await http.send(daemon, "/v1/embeddings", body: #"{"model":"embed","input":["alpha","be"]}"#)
            #expect(float.status == 200, "\(float.body)")
            let data = try #require(float.json?["data"]?.arrayValue)
            #expect(data.map { $0["embedding"]?.arrayValue?.compactMap(\.doubleValue) } == [Self.expected(0, bytes: 5), Self.expected(1, bytes: 2)])
            #expect(data.map { $0["index"]?.intValue } == [0, 1])
            #expect(float.json?["usage"]?["prompt_tokens"]?.intValue == 3)
            #expect(float.json?["object"] == "list")

            let encoded = try await http.send(daemon, "/v1/embeddings", body: #"{"model":"vec","input":"alpha","encoding_format":"base64"}"#)
            let text = try #require(encoded.json?["data"]?.arrayValue?.first?["embedding"]?.stringValue, "\(encoded.body)")
            let bytes = try #require(Data(base64Encoded: text))
            let floats = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Double(Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
            }
            #expect(floats == Self.expected(0, bytes: 5))

            let refused = try await http.send(daemon, "/v1/embeddings", body: #"{"model":"chat-only","input":"x"}"#)
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["code"] == "unsupported_operation", "\(refused.body)")
            let bad = try await http.send(daemon, "/v1/embeddings", body: #"{"model":"vec","input":"x","encoding_format":"hex"}"#)
            #expect(bad.status == 400)
        }
    }

    /// The openai SDK's `embeddings.create`, which asks for base64 unless told otherwise, gets
    /// the mock's vectors exactly in both encodings.
    @Test(.tags(.processes), .fullTierOnly, .enabled(if: OpenAISDKTests.python != nil || OpenAISDKTests.required, "no Python in .venv-test"))
    func theOpenAISDKGetsTheVectorsExactly() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            let python = try #require(OpenAISDKTests.python)
            var environment = cleanEnvironment()
            let baseURL: String = try #require(daemon.httpBaseURL)
            let token: String = try #require(daemon.token)
            environment["OPENAI_BASE_URL"] = baseURL + "/v1"
            environment["OPENAI_API_KEY"] = token
            let script = """
                import json
                from openai import OpenAI
                client = OpenAI()
                default = client.embeddings.create(model="vec", input=["alpha", "be"])
                floats = client.embeddings.create(model="vec", input=["alpha", "be"], encoding_format="float")
                print(json.dumps({"default": [d.embedding for d in default.data], "float": [d.embedding for d in floats.data],
                                  "tokens": default.usage.prompt_tokens}))
                """
            let result = try await ChildProcess.run(python, ["-c", script], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            let output = try #require(try? JSONValue.parse(result.stdout), "\(result.stdout)")
            let expected = [Self.expected(0, bytes: 5), Self.expected(1, bytes: 2)]
            for key in ["default", "float"] {
                let vectors = output[key]?.arrayValue?.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] }
                #expect(vectors == expected, "\(key): \(result.stdout)")
            }
            #expect(output["tokens"]?.intValue == 3)
            #expect(daemon.mock.requests.allSatisfy { $0.body?["encoding_format"] == "float" })
        }
    }

    /// The ledger records each request with its kind; `llmux usage --by kind` splits them, the
    /// embeddings at their input-only cost.
    @Test(.tags(.processes), .fullTierOnly) func usageByKindSeparatesEmbeddingsFromChats() async throws {
        try await TestDaemon.with(configure: Self.configure) { daemon in
            var embedCost = 0.0
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("c"))
                _ = try await FrameLog.read(from: connection, until: ["c"])
                for index in 0..<2 {
                    try await connection.send(line: #"{"type":"embed","id":"e\#(index)","model":"vec","input":"alpha"}"#)
                    let log = try await FrameLog.read(from: connection, until: ["e\(index)"])
                    if case .embeddings(let frame)? = log.terminal("e\(index)") { embedCost += frame.cost?.usd ?? 0 }
                }
            }
            #expect(embedCost > 0)
            var environment = cleanEnvironment()
            environment["XDG_STATE_HOME"] = daemon.directory + "/state"
            environment["XDG_CONFIG_HOME"] = daemon.directory + "/config"
            var report: JSONValue?
            for _ in 0..<40 {
                let result = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "kind", "--json"], environment: environment)
                report = try? JSONValue.parse(result.stdout)
                if report?["total"]?["requests"]?.intValue == 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let rows = report?["rows"]?.arrayValue ?? []
            let embeddings = try #require(rows.first { $0["key"] == "embeddings" }, "\(String(describing: report))")
            #expect(embeddings["requests"]?.intValue == 2)
            #expect(embeddings["output_tokens"]?.intValue == 0)
            #expect(abs((embeddings["cost_usd"]?.doubleValue ?? 0) - embedCost) < 1e-12)
            #expect(rows.first { $0["key"] == "chat" }?["requests"]?.intValue == 1)
        }
    }
}
