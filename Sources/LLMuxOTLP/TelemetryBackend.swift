package import LLMuxTelemetry
package import Logging
import OTel
package import ServiceLifecycle

/// The OpenTelemetry side of llmuxd's traces: swift-otel's tracer with its batch span processor
/// and OTLP/HTTP exporter, built from resolved `TracingSettings`.
///
/// Spans are queued when they end and exported in the background, so a collector that is slow,
/// stalled or down costs a request nothing; when the queue (2048 spans) is full the newest are
/// dropped. The service must run in llmuxd's service group; at shutdown it sends what is queued,
/// within the export timeout.
package enum TelemetryBackend {
    package static func make(_ settings: TracingSettings, logger: Logger) throws -> (tracer: RequestTracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        // swift-otel's own warnings (a failed export, a full queue) say where they come from.
        var diagnostics = logger
        diagnostics[metadataKey: "component"] = "traces"
        configuration.diagnosticLogger = .custom(diagnostics)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = []
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.sampler = .alwaysOn
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.exportDelay
        configuration.traces.batchSpanProcessor.exportTimeout = settings.exportTimeout
        configuration.traces.otlpExporter.endpoint = settings.tracesEndpoint
        configuration.traces.otlpExporter.timeout = settings.exportTimeout
        switch settings.wireProtocol {
        case .httpProtobuf: configuration.traces.otlpExporter.protocol = .httpProtobuf
        case .httpJSON: configuration.traces.otlpExporter.protocol = .httpJSON
        }
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (RequestTracer(tracer: backend.factory, captureContent: settings.captureContent), backend.service)
    }
}
