import Foundation
import LLMuxConfig
import LLMuxUpstream
import LLMuxWire
import Testing

/// Byte-exact streams of each provider variant (upstream reference §3 and §4),
/// written by hand from the documented formats, fed through the SSE parser and
/// interpreter split at random byte boundaries with fixed seeds.
@Suite("Provider variant fixtures")
struct ProviderFixtureTests {
    struct Summary: Equatable, CustomStringConvertible {
        var text = ""
        var reasoning = ""
        var toolCalls: [Int: String] = [:]  // index -> "id name arguments"
        var usage: Usage?
        var finish: String?
        var ended = false
        var errors: [String] = []

        var description: String {
            "text=\(text) reasoning=\(reasoning) tools=\(toolCalls) usage=\(String(describing: usage)) finish=\(String(describing: finish)) ended=\(ended) errors=\(errors)"
        }
    }

    static func summarize(_ events: [UpstreamEvent]) -> Summary {
        var summary = Summary()
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        for event in events {
            switch event {
            case .delta(let text, let reasoning, let toolCalls):
                summary.text += text ?? ""
                summary.reasoning += reasoning ?? ""
                for call in toolCalls {
                    var entry = calls[call.index] ?? ("", "", "")
                    entry.id += call.id ?? ""
                    entry.name += call.name ?? ""
                    entry.arguments += call.arguments ?? ""
                    calls[call.index] = entry
                }
            case .usage(let usage): summary.usage = usage
            case .finish(let reason): summary.finish = reason
            case .end: summary.ended = true
            case .error(let message): summary.errors.append(message)
            case .native: Issue.record("an interpreter produced a native event")
            case .reasoningState: break
            case .embeddings: Issue.record("an interpreter produced embeddings")
            }
        }
        summary.toolCalls = calls.mapValues { "\($0.id) \($0.name) \($0.arguments)" }
        return summary
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var expected: @Sendable () -> Summary
        var testDescription: String { self.file }
    }

    static let cases: [Case] = [
        Case(file: "openrouter.sse") {
            Summary(
                text: "Half an answer", reasoning: "Thinking it over.",
                usage: Usage(inputTokens: 14, outputTokens: 3, reasoningTokens: 2), ended: true, errors: ["Provider disconnected"]
            )
        },
        Case(file: "groq.sse") { Summary(text: "Fast answer.", usage: Usage(inputTokens: 12, outputTokens: 2), finish: "stop", ended: true) },
        Case(file: "deepseek.sse") {
            Summary(
                text: "4", reasoning: "First, 2+2.", usage: Usage(inputTokens: 10, outputTokens: 9, cachedTokens: 8, reasoningTokens: 8), finish: "stop",
                ended: true)
        },
        Case(file: "vllm.sse") { Summary(text: "Part", reasoning: "hmm", ended: true, errors: ["CUDA out of memory (InternalServerError)"]) },
        Case(file: "llamacpp.sse") { Summary(text: "Local model", ended: false, errors: ["slot unavailable (server_error)"]) },
        Case(file: "ollama.sse") {
            Summary(toolCalls: [0: #"call_o1 get_weather {"city":"Lyon"}"#], usage: Usage(inputTokens: 40, outputTokens: 12), finish: "tool_calls", ended: true)
        },
        Case(file: "azure.sse") { Summary(text: "Azure says hi", finish: "stop", ended: true) },
    ]

    @Test(arguments: cases, [7, 99, 2024] as [UInt64])
    func variantNormalizes(_ testCase: Case, seed: UInt64) throws {
        let bytes = try AnthropicTests.fixture(testCase.file)
        let events = try AnthropicTests.run(bytes, seed: seed, interpreter: OpenAIStreamInterpreter())
        let summary = Self.summarize(events)
        #expect(summary == testCase.expected(), "\(summary)")
    }
}

@Suite("Provider options")
struct ProviderOptionTests {
    @Test func azureDeploymentsApiKeyAndExtraHeadersAndQuery() async throws {
        try await TestDaemon.with(configure: { config, mock in
            var azure = ProviderConfig(name: "azure", kind: .azure, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
            azure.apiVersion = "2024-06-01"
            config.providers["azure"] = azure
            var routed = ProviderConfig(name: "router", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
            routed.headers = ["HTTP-Referer": "https://example.invalid/app", "X-Title": "llmux test"]
            routed.query = ["tier": "free plan"]
            config.providers["router"] = routed
        }) { daemon in
            for (id, model) in [("a", "azure/gpt4o-prod"), ("r", "router/some/model")] {
                let log = try await daemon.connect { connection in
                    try await connection.send(line: chatLine(id, model: model))
                    return try await FrameLog.read(from: connection, until: [id])
                }
                if case .done = log.terminal(id) {} else { Issue.record("\(model): \(log.all)") }
            }
            let azure = try #require(daemon.mock.requests.first)
            #expect(azure.uri.hasSuffix("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01"), "\(azure.uri)")
            #expect(azure.header("api-key") == TestDaemon.apiKey)
            #expect(azure.header("authorization") == nil)
            let routed = try #require(daemon.mock.requests.last)
            #expect(routed.uri.hasSuffix("/chat/completions?tier=free%20plan"), "\(routed.uri)")
            #expect(routed.header("X-Title") == "llmux test")
            #expect(routed.header("HTTP-Referer") == "https://example.invalid/app")
            #expect(routed.header("authorization") == "Bearer \(TestDaemon.apiKey)")
        }
    }

    @Test func providerOptionErrorsAreConfigErrors() {
        let loader = ConfigLoader(environment: [:])
        #expect(throws: ConfigError.self) {
            try loader.parse("[providers.a]\nbase_url = \"https://x.example\"\nheaders = { Authorization = \"Bearer x\" }\n", path: "c.toml")
        }
        #expect(throws: ConfigError.self) {
            try loader.parse("[providers.a]\nbase_url = \"https://x.example\"\ndeployment = \"d\"\n", path: "c.toml")
        }
        let azure = try? loader.parse(
            "[providers.az]\nkind = \"azure\"\nbase_url = \"https://r.openai.azure.com\"\ndeployment = \"d\"\napi_key_env = \"AZ\"\n", path: "c.toml")
        #expect(azure?.providers["az"]?.deployment == "d")
        #expect(azure?.providers["az"]?.kind == .azure)
    }
}
