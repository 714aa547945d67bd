import Foundation
import LLMuxConfig
import LLMuxDaemon
import LLMuxMockScript
import LLMuxTelemetry
import LLMuxWire
import Logging
import Testing

#if LLMUX_OTLP
/// Traces through swift-otel's OTLP/HTTP exporter into a receiver that decodes them with
/// opentelemetry-proto: one server span per request, one client span per attempt, the GenAI
/// semantic-convention attributes, llmux's cost and outcome, and no text unless asked.
@Suite("OpenTelemetry traces", .tags(.processes), .fullTierOnly)
struct TelemetryTests {
    static var runnable: Bool { OTLPReceiver.python != nil || OTLPReceiver.required }

    /// A receiver, or `nil` (recorded as an issue in CI) when opentelemetry-proto is missing.
    func receiver(stall: Bool = false) async throws -> OTLPReceiver? {
        guard await OTLPReceiver.isAvailable() else {
            if OTLPReceiver.required { Issue.record("opentelemetry-proto is not installed in .venv-test") }
            return nil
        }
        return try await OTLPReceiver.start(stall: stall)
    }

    /// `body`'s result, or `nil` when it has not finished after 20 s (a hang detector: a request
    /// takes milliseconds here).
    static func withinHangBound<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    /// `route` falls back from a 503 to a target priced at 1 USD per output token.
    static func configure(_ config: inout DaemonConfig, endpoint: String) {
        config.telemetry = TelemetryConfig(traces: true, endpoint: endpoint, exportDelayMs: 20, exportTimeoutMs: 2_000)
        config.routes["smart"] = RouteConfig(
            name: "smart",
            targets: [RouteTarget(provider: "mock", upstreamModel: "down"), RouteTarget(provider: "mock", upstreamModel: "up")]
        )
        config.prices["mock/up"] = PriceOverride(inputPerMillion: 0, outputPerMillion: 1_000_000)
    }

    func chat(_ daemon: TestDaemon, id: String, model: String, extra: String = "") async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(.hello(ClientHello(client: "trace-test")))
            try await connection.send(line: chatLine(id, model: model, extra: extra))
            return try await FrameLog.read(from: connection, until: [id])
        }
    }

    @Test(.enabled(if: runnable, "no Python in .venv-test"))
    func aFallbackIsOneRequestSpanWithAChildSpanPerAttempt() async throws {
        guard let receiver = try await receiver() else { return }
        defer { Task { await receiver.stop() } }
        let (done, spans) = try await TestDaemon.with(configure: { config, _ in Self.configure(&config, endpoint: receiver.endpoint) }) {
            daemon -> (DoneFrame?, [OTLPReceiver.Span]) in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            daemon.mock.setScript(MockScript(chunks: ["Hello", " there"]), forModel: "up")
            let log = try await chat(daemon, id: "t1", model: "smart", extra: #","max_tokens":50,"temperature":0.5"#)
            guard case .done(let done)? = log.terminal("t1") else {
                Issue.record("expected done, got \(String(describing: log.terminal("t1")))")
                return (nil, [])
            }
            return (done, try await receiver.waitForSpans(3))
        }
        guard let done else { return }
        let request = try #require(spans.first { $0.kind == "server" }, "\(spans.map(\.name))")
        try Self.checkRequestSpan(request, done)
        try Self.checkAttemptSpans(spans.filter { $0.kind == "client" }, of: request, done)
        // No prompt or completion text without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.
        for span in spans {
            #expect(span.string("gen_ai.input.messages") == nil && span.string("gen_ai.output.messages") == nil)
            #expect(!span.allText.contains("hello t1") && !span.allText.contains("Hello there"))
        }
    }

    static func checkRequestSpan(_ request: OTLPReceiver.Span, _ done: DoneFrame) throws {
        #expect(request.name == "chat smart")
        #expect(request.path == "/v1/traces")
        #expect(request.resource["service.name"] == .text("llmuxd"))
        #expect(request.string("gen_ai.operation.name") == "chat")
        #expect(request.string("gen_ai.request.model") == "smart")
        #expect(request.string("gen_ai.provider.name") == "mock")
        #expect(request.string("gen_ai.response.model") == "up")
        #expect(request.int("gen_ai.request.max_tokens") == 50)
        #expect(request.double("gen_ai.request.temperature") == 0.5)
        let usage = try #require(done.usage)
        #expect(request.int("gen_ai.usage.input_tokens") == usage.inputTokens)
        #expect(request.int("gen_ai.usage.output_tokens") == usage.outputTokens)
        #expect(request.int("gen_ai.usage.cache_read.input_tokens") == 0)
        #expect(request.int("gen_ai.usage.cache_creation.input_tokens") == 0)
        #expect(request.strings("gen_ai.response.finish_reasons") == ["stop"])
        #expect(request.string("llmux.outcome") == "stop")
        #expect(request.string("llmux.route") == "smart")
        #expect(request.string("llmux.request.id") == "t1")
        #expect(request.string("llmux.client") == "trace-test")
        #expect(request.int("llmux.attempts") == 2)
        // 2 output tokens at 1 USD each, as the done frame says.
        #expect(done.cost?.usd == 2)
        #expect(request.double("llmux.cost.usd") == done.cost?.usd)
        #expect(request.statusCode != "error")
    }

    static func checkAttemptSpans(_ clientSpans: [OTLPReceiver.Span], of request: OTLPReceiver.Span, _ done: DoneFrame) throws {
        #expect(clientSpans.count == 2)
        for span in clientSpans {
            #expect(span.traceID == request.traceID)
            #expect(span.parentSpanID == request.spanID)
            #expect(span.string("gen_ai.provider.name") == "mock")
        }
        let failed = try #require(clientSpans.first { $0.string("gen_ai.request.model") == "down" })
        #expect(failed.name == "chat down")
        #expect(failed.int("http.response.status_code") == 503)
        #expect(failed.statusCode == "error")
        #expect(failed.string("llmux.attempt.outcome") == done.attempts.first?.outcome)
        #expect(failed.int("llmux.attempt.index") == 0)
        let answered = try #require(clientSpans.first { $0.string("gen_ai.request.model") == "up" })
        #expect(answered.string("llmux.attempt.outcome") == "ok")
        #expect(answered.int("gen_ai.usage.output_tokens") == done.usage?.outputTokens)
        #expect(answered.int("llmux.attempt.index") == 1)
    }

    @Test(.enabled(if: runnable, "no Python in .venv-test"))
    func promptAndCompletionTextOnlyWhenTheVariableSaysSo() async throws {
        guard let receiver = try await receiver() else { return }
        defer { Task { await receiver.stop() } }
        try await TestDaemon.with(
            configure: { config, _ in Self.configure(&config, endpoint: receiver.endpoint) },
            environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true", "OTEL_SERVICE_NAME": "llmux-under-test"]
        ) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["Hello", " there"]), forModel: "up")
            let log = try await chat(daemon, id: "c1", model: "mock/up")
            #expect(log.text("c1") == "Hello there")
            let spans = try await receiver.waitForSpans(2)
            let request = try #require(spans.first { $0.kind == "server" })
            #expect(request.resource["service.name"] == .text("llmux-under-test"))
            let input = try #require(request.string("gen_ai.input.messages"))
            let messages = try #require(try JSONSerialization.jsonObject(with: Data(input.utf8)) as? [[String: Any]])
            #expect(messages.first?["content"] as? String == "hello c1")
            let output = try #require(request.string("gen_ai.output.messages"))
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            let parts = try #require(answer.first?["parts"] as? [[String: Any]])
            #expect(parts.first?["content"] as? String == "Hello there")
            #expect(answer.first?["finish_reason"] as? String == "stop")
        }
    }

    @Test(.enabled(if: runnable, "no Python in .venv-test"))
    func aRefusedRequestIsAnErrorSpanWithoutAttempts() async throws {
        guard let receiver = try await receiver() else { return }
        defer { Task { await receiver.stop() } }
        try await TestDaemon.with(configure: { config, _ in Self.configure(&config, endpoint: receiver.endpoint) }) { daemon in
            let log = try await chat(daemon, id: "r1", model: "nowhere")
            guard case .error(_, let error)? = log.terminal("r1") else {
                Issue.record("expected an error")
                return
            }
            let spans = try await receiver.waitForSpans(1)
            let span = try #require(spans.first)
            #expect(span.name == "chat nowhere")
            #expect(span.statusCode == "error")
            #expect(span.string("error.type") == error.code.rawValue)
            #expect(span.string("llmux.outcome") == error.code.rawValue)
            #expect(span.int("llmux.attempts") == 0)
            #expect(spans.filter { $0.kind == "client" }.isEmpty)
        }
    }

    /// A collector that holds every export, and one that is not there: requests are served as
    /// before, and the daemon still stops. The bounds are hang detectors, far above a request.
    @Test(.enabled(if: runnable, "no Python in .venv-test"))
    func aStalledOrMissingCollectorNeverHoldsARequest() async throws {
        guard let stalled = try await receiver(stall: true) else { return }
        defer { Task { await stalled.stop() } }
        // A port nothing listens on: bound, then closed.
        let closed = try await OTLPReceiver.start()
        let missing = closed.endpoint
        await closed.stop()
        for endpoint in [stalled.endpoint, missing] {
            try await TestDaemon.with(configure: { config, _ in Self.configure(&config, endpoint: endpoint) }) { daemon in
                daemon.mock.setScript(MockScript(chunks: ["a", "b"]), forModel: "up")
                for round in 0..<40 {
                    if round == 10 && endpoint == stalled.endpoint {
                        // From here on an export is held by the collector while requests run.
                        let deadline = ContinuousClock.now + .seconds(20)
                        while stalled.stalledRequests == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                        #expect(stalled.stalledRequests >= 1, "the exporter never posted to the stalled collector")
                    }
                    let ended = try await Self.withinHangBound { try await chat(daemon, id: "s\(round)", model: "mock/up").terminal("s\(round)") }
                    guard case .done?? = ended else {
                        Issue.record("request \(round) did not end with done within 20 s (collector \(endpoint)): \(String(describing: ended))")
                        return
                    }
                }
            }
        }
        // The exporter did post to the stalled collector, and was held there.
        #expect(stalled.stalledRequests >= 1)
    }
}
#else
/// A build without swift-otel (`LLMUX_WITHOUT_OTEL=1`, the ThreadSanitizer build) refuses
/// traces at start instead of serving without them.
@Suite("OpenTelemetry traces: a build without the exporter")
struct TelemetryUnavailableTests {
    @Test func tracesAreAConfigErrorThatSaysWhy() async throws {
        var config = DaemonConfig(
            providers: ["mock": ProviderConfig(name: "mock", baseURL: "http://127.0.0.1:9", keySource: .none)]
        )
        config.telemetry.traces = true
        #expect {
            _ = try TracingStartup.start(config, environment: [:], logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("LLMUX_WITHOUT_OTEL")
        }
    }
}
#endif
