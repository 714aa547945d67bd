/// `[telemetry]`: OpenTelemetry traces of every request, exported over OTLP/HTTP. Off unless
/// `traces = true` here or an `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
/// in llmuxd's environment turns them on; the standard `OTEL_*` variables win over these keys
/// (`TracingSettings` resolves the two). Read at start: a reload does not change it.
package struct TelemetryConfig: Sendable, Hashable {
    /// The two OTLP/HTTP encodings; llmuxd does not speak OTLP over gRPC.
    package enum WireProtocol: String, Sendable, Hashable, CaseIterable {
        case httpProtobuf = "http/protobuf"
        case httpJSON = "http/json"
    }

    /// `traces`: export traces (`nil`: not said; the environment decides).
    package var traces: Bool?
    /// `endpoint`: the collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is
    /// appended), e.g. `http://127.0.0.1:4318`.
    package var endpoint: String?
    /// `protocol`.
    package var wireProtocol: WireProtocol?
    /// `service_name`: the `service.name` resource attribute (default `llmuxd`).
    package var serviceName: String?
    /// `export_delay_ms`: how long finished spans wait to be sent in one batch (default 5000,
    /// as the OpenTelemetry specification says for the batch span processor).
    package var exportDelayMs: Int?
    /// `export_timeout_ms`: how long one export may take before it is given up (default 10000).
    package var exportTimeoutMs: Int?

    package init(
        traces: Bool? = nil,
        endpoint: String? = nil,
        wireProtocol: WireProtocol? = nil,
        serviceName: String? = nil,
        exportDelayMs: Int? = nil,
        exportTimeoutMs: Int? = nil
    ) {
        self.traces = traces
        self.endpoint = endpoint
        self.wireProtocol = wireProtocol
        self.serviceName = serviceName
        self.exportDelayMs = exportDelayMs
        self.exportTimeoutMs = exportTimeoutMs
    }
}
