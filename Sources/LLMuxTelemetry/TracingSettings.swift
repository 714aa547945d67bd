import Foundation
package import LLMuxConfig

/// Whether and where llmuxd exports traces: `[telemetry]` resolved against the standard
/// OpenTelemetry environment variables, which win.
///
/// Off by default. On when `OTEL_TRACES_EXPORTER=otlp`, else when `[telemetry] traces` says so,
/// else when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set.
/// `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn them off whatever the file says.
package struct TracingSettings: Sendable, Hashable {
    /// Where spans are posted: the per-signal endpoint as given, or a base endpoint with
    /// `/v1/traces` appended, as the OTLP/HTTP exporter specification says.
    package var tracesEndpoint: String
    package var wireProtocol: TelemetryConfig.WireProtocol
    package var serviceName: String
    /// The batch span processor's wait before it sends what has finished.
    package var exportDelay: Duration
    /// How long one export may take.
    package var exportTimeout: Duration
    /// Prompt and completion text go into spans only when
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true`.
    package var captureContent: Bool

    package static let defaultEndpoint = "http://localhost:4318"
    package static let defaultServiceName = "llmuxd"

    /// Why the settings cannot be used; the message names the variable or key.
    package struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        package var description: String
    }

    /// The settings, or `nil` when traces are off.
    package static func resolve(_ config: TelemetryConfig, environment: [String: String]) throws(Problem) -> TracingSettings? {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return nil }
        let exporter = value("OTEL_TRACES_EXPORTER")?.lowercased()
        switch exporter {
        case nil, "otlp": break
        case "none": return nil
        case let other?:
            throw Problem(description: "OTEL_TRACES_EXPORTER=\(other): llmuxd exports traces only with otlp (or none)")
        }
        let signalEndpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        let baseEndpoint = value("OTEL_EXPORTER_OTLP_ENDPOINT")
        let enabled = exporter == "otlp" || (config.traces ?? (signalEndpoint != nil || baseEndpoint != nil))
        guard enabled else { return nil }

        let endpoint: String
        let endpointSource: String
        if let signalEndpoint {
            endpoint = signalEndpoint
            endpointSource = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        } else {
            let base = baseEndpoint ?? config.endpoint ?? Self.defaultEndpoint
            endpoint = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
            endpointSource = baseEndpoint != nil ? "OTEL_EXPORTER_OTLP_ENDPOINT" : "[telemetry] endpoint"
        }
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw Problem(description: "\(endpointSource) must be an http:// or https:// URL; got \(Self.loggable(endpoint))")
        }

        var wireProtocol = config.wireProtocol ?? .httpProtobuf
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            guard let text = value(name) else { continue }
            guard let chosen = TelemetryConfig.WireProtocol(rawValue: text) else {
                throw Problem(description: "\(name)=\(text): llmuxd exports OTLP over HTTP only (http/protobuf or http/json)")
            }
            wireProtocol = chosen
            break
        }

        func milliseconds(_ name: String, _ configured: Int?, default fallback: Int) throws(Problem) -> Duration {
            guard let text = value(name) else { return .milliseconds(configured ?? fallback) }
            guard let ms = Int(text), ms > 0 else { throw Problem(description: "\(name)=\(text): must be a positive whole number of milliseconds") }
            return .milliseconds(ms)
        }
        let capture = value("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")?.lowercased() == "true"
        return TracingSettings(
            tracesEndpoint: endpoint,
            wireProtocol: wireProtocol,
            serviceName: value("OTEL_SERVICE_NAME") ?? config.serviceName ?? Self.defaultServiceName,
            exportDelay: try milliseconds("OTEL_BSP_SCHEDULE_DELAY", config.exportDelayMs, default: 5_000),
            exportTimeout: try milliseconds("OTEL_BSP_EXPORT_TIMEOUT", config.exportTimeoutMs, default: 10_000),
            captureContent: capture
        )
    }

    /// The endpoint as it may be logged: credentials in its userinfo become `***`.
    package var loggableEndpoint: String { Self.loggable(self.tracesEndpoint) }

    static func loggable(_ endpoint: String) -> String {
        guard let schemeEnd = endpoint.range(of: "://") else { return endpoint }
        let rest = endpoint[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return endpoint }
        return String(endpoint[..<schemeEnd.upperBound]) + "***" + String(rest[at...])
    }
}
