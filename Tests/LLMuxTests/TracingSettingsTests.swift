import LLMuxConfig
import LLMuxTelemetry
import Testing

/// `[telemetry]` against the standard OpenTelemetry variables: off by default, the variables
/// win, and every value llmuxd cannot use is an error that names it.
@Suite("Trace settings")
struct TracingSettingsTests {
    func resolve(_ config: TelemetryConfig = TelemetryConfig(), _ environment: [String: String] = [:]) throws -> TracingSettings? {
        try TracingSettings.resolve(config, environment: environment)
    }

    @Test func offUnlessTurnedOn() throws {
        #expect(try resolve() == nil)
        #expect(try resolve(TelemetryConfig(endpoint: "http://collector:4318")) == nil)
        #expect(try resolve(TelemetryConfig(traces: false), ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"]) == nil)
    }

    @Test func theFileTurnsThemOnWithTheSpecificationsDefaults() throws {
        let settings = try #require(try resolve(TelemetryConfig(traces: true)))
        #expect(settings.tracesEndpoint == "http://localhost:4318/v1/traces")
        #expect(settings.wireProtocol == .httpProtobuf)
        #expect(settings.serviceName == "llmuxd")
        #expect(settings.exportDelay == .seconds(5))
        #expect(settings.exportTimeout == .seconds(10))
        #expect(!settings.captureContent)
    }

    @Test func anEndpointVariableTurnsThemOnAndBaseEndpointsGetTheTracesPath() throws {
        let base = try #require(try resolve(TelemetryConfig(), ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"]))
        #expect(base.tracesEndpoint == "http://c:4318/v1/traces")
        let fromFile = try #require(try resolve(TelemetryConfig(traces: true, endpoint: "https://c.example/otlp")))
        #expect(fromFile.tracesEndpoint == "https://c.example/otlp/v1/traces")
        // The per-signal variable is used as it is, and wins over the base one and the file.
        let signal = try #require(
            try resolve(
                TelemetryConfig(endpoint: "http://file:4318"),
                ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9999/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"]))
        #expect(signal.tracesEndpoint == "http://c:9999/custom")
    }

    @Test func theVariablesWinOverTheFile() throws {
        let config = TelemetryConfig(traces: true, wireProtocol: .httpProtobuf, serviceName: "from-file", exportDelayMs: 100, exportTimeoutMs: 200)
        let settings = try #require(
            try resolve(
                config,
                [
                    "OTEL_SERVICE_NAME": "from-env", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "300",
                    "OTEL_BSP_EXPORT_TIMEOUT": "400", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "TRUE",
                ]))
        #expect(settings.serviceName == "from-env")
        #expect(settings.wireProtocol == .httpJSON)
        #expect(settings.exportDelay == .milliseconds(300))
        #expect(settings.exportTimeout == .milliseconds(400))
        #expect(settings.captureContent)
        let fileOnly = try #require(try resolve(config))
        #expect(fileOnly.serviceName == "from-file" && fileOnly.exportDelay == .milliseconds(100) && fileOnly.exportTimeout == .milliseconds(200))
    }

    @Test func disabledAndNoneTurnThemOffWhateverTheFileSays() throws {
        #expect(try resolve(TelemetryConfig(traces: true), ["OTEL_SDK_DISABLED": "true"]) == nil)
        #expect(try resolve(TelemetryConfig(traces: true), ["OTEL_TRACES_EXPORTER": "none"]) == nil)
        #expect(try resolve(TelemetryConfig(traces: false), ["OTEL_TRACES_EXPORTER": "otlp"]) != nil)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var environment: [String: String]
        var fragment: String
        var testDescription: String { self.fragment }
    }

    @Test(arguments: [
        Refusal(environment: ["OTEL_TRACES_EXPORTER": "zipkin"], fragment: "OTEL_TRACES_EXPORTER=zipkin"),
        Refusal(environment: ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], fragment: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
        Refusal(environment: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift"], fragment: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=thrift"),
        Refusal(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"], fragment: "OTEL_EXPORTER_OTLP_ENDPOINT must be an http"),
        Refusal(environment: ["OTEL_BSP_SCHEDULE_DELAY": "soon"], fragment: "OTEL_BSP_SCHEDULE_DELAY=soon"),
    ])
    func valuesLlmuxdCannotUseAreErrorsNamingTheVariable(_ refusal: Refusal) {
        #expect {
            _ = try TracingSettings.resolve(TelemetryConfig(traces: true), environment: refusal.environment)
        } throws: { error in
            "\(error)".contains(refusal.fragment)
        }
    }

    @Test func credentialsInTheEndpointAreNeverLogged() throws {
        let settings = try #require(try resolve(TelemetryConfig(traces: true, endpoint: "https://user:s3cret@collector.example:4318")))
        #expect(settings.tracesEndpoint == "https://user:s3cret@collector.example:4318/v1/traces")
        #expect(settings.loggableEndpoint == "https://***@collector.example:4318/v1/traces")
        // A bad endpoint's error hides them too.
        #expect {
            _ = try TracingSettings.resolve(TelemetryConfig(traces: true), environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://u:s3cret@x"])
        } throws: { error in
            let text = "\(error)"
            return !text.contains("s3cret") && text.contains("***@x")
        }
    }
}
