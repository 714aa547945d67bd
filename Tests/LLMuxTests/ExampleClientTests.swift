import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

/// The shipped examples, which are the SDKs' own streaming examples pointed at llmux by their
/// environment variables, run unchanged through a route whose first target fails, onto each
/// upstream kind; then `llmux usage` shows every answer at its price.
@Suite("SDK examples on every upstream kind", .tags(.processes), .fullTierOnly)
struct ExampleClientTests {
    static let kinds: [(provider: String, kind: ProviderConfig.Kind)] = [
        ("mock", .openai), ("azure", .azure), ("claude", .anthropic), ("resp", .openaiResponses),
    ]
    /// Per million tokens: input, output. Distinct per kind, so a row priced as another fails.
    static let prices: [String: (Double, Double)] = ["mock": (1, 2), "azure": (3, 5), "claude": (7, 11), "resp": (13, 17)]

    static func configure(_ config: inout DaemonConfig, _ mock: MockUpstream) {
        // The failing target stays in play for every request (no breaker opening on it).
        config.router.breakerFailures = 1_000
        for (name, kind) in Self.kinds where name != "mock" {
            config.providers[name] = ProviderConfig(name: name, kind: kind, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        }
        for (name, _) in Self.kinds {
            config.routes["via-\(name)"] = RouteConfig(
                name: "via-\(name)",
                targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: name, upstreamModel: "answer-\(name)")])
            let (input, output) = Self.prices[name]!
            config.prices["\(name)/answer-\(name)"] = PriceOverride(inputPerMillion: input, outputPerMillion: output)
        }
    }

    @Test(.enabled(if: OpenAISDKTests.python != nil || OpenAISDKTests.required, "no Python in .venv-test"))
    func examplesStreamThroughAFallbackOntoEveryKindAndArePriced() async throws {
        try await TestDaemon.with(configure: Self.configure, tcpHTTP: true) { daemon in
            let python = try #require(OpenAISDKTests.python)
            daemon.mock.setScript(.httpError(503), forModel: "down")
            for (name, _) in Self.kinds {
                daemon.mock.setScript(MockScript(chunks: ["Streaming ", "via ", "\(name)."]), forModel: "answer-\(name)")
            }
            var environment = cleanEnvironment()
            let baseURL: String = try #require(daemon.httpBaseURL)
            let token: String = try #require(daemon.token)
            environment["ANTHROPIC_BASE_URL"] = baseURL
            environment["ANTHROPIC_API_KEY"] = token
            environment["OPENAI_BASE_URL"] = baseURL + "/v1"
            environment["OPENAI_API_KEY"] = token
            for example in ["anthropic_stream.py", "responses_stream.py", "openai_stream.py"] {
                for (name, _) in Self.kinds {
                    // The bound is a hang detector: a CI run starting this suite beside aider's and the
                    // SDK suites' imports saw one cold start of the anthropic SDK killed at 20 s.
                    let started = ContinuousClock.now
                    let result = try await ChildProcess.run(
                        python, [RepositoryPaths.root + "/examples/" + example, "via-\(name)"], environment: environment, timeout: .seconds(90))
                    let elapsed = ContinuousClock.now - started
                    #expect(result.status == 0, "\(example) via \(name), exit \(result.status) after \(elapsed): \(result.stderr)")
                    #expect(result.stdout == "Streaming via \(name).", "\(example) via \(name): \(result.stdout)")
                }
            }
            // Every answer fell back: the failing first target was asked each time.
            #expect(daemon.mock.requests.filter { $0.body?["model"]?.stringValue == "down" }.count == 12)

            var usageEnvironment = cleanEnvironment()
            usageEnvironment["XDG_STATE_HOME"] = daemon.directory + "/state"
            usageEnvironment["XDG_CONFIG_HOME"] = daemon.directory + "/config"
            var report: JSONValue?
            for _ in 0..<40 {
                let result = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "model", "--json"], environment: usageEnvironment)
                report = try? JSONValue.parse(result.stdout)
                if report?["total"]?["requests"]?.intValue == 12 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let rows = report?["rows"]?.arrayValue ?? []
            #expect(rows.count == 4, "\(String(describing: report))")
            for (name, _) in Self.kinds {
                guard let row = rows.first(where: { $0["key"]?.stringValue == "\(name)/answer-\(name)" }) else {
                    Issue.record("no usage row for \(name): \(rows)")
                    continue
                }
                #expect(row["requests"]?.intValue == 3)
                let input = Double(row["input_tokens"]?.intValue ?? 0)
                let output = Double(row["output_tokens"]?.intValue ?? 0)
                #expect(input > 0 && output > 0, "\(row)")
                let (inputPrice, outputPrice) = Self.prices[name]!
                let expected = (input * inputPrice + output * outputPrice) / 1_000_000
                let cost = row["cost_usd"]?.doubleValue ?? -1
                #expect(abs(cost - expected) < 1e-12, "\(name): \(cost) vs \(expected)")
                #expect(row["estimated_cost_usd"]?.doubleValue == 0, "\(name): the upstream's counts, not an estimate")
            }
        }
    }
}
