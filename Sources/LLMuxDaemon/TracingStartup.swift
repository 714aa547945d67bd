package import LLMuxConfig
package import LLMuxTelemetry
package import Logging
package import ServiceLifecycle

#if LLMUX_OTLP
import LLMuxOTLP
#endif

/// Turns `[telemetry]` and the `OTEL_*` environment into a tracer for the engine and the service
/// that exports its spans, or nothing when traces are off. Every problem is a config error at
/// start, never a daemon that silently traces nothing.
package enum TracingStartup {
    /// The trace settings `config` and `environment` give (`nil`: traces are off), or the config
    /// error that says what is wrong with them (`llmuxd --check-config` prints the same).
    package static func settings(_ config: DaemonConfig, environment: [String: String]) throws(ConfigError) -> TracingSettings? {
        do {
            return try TracingSettings.resolve(config.telemetry, environment: environment)
        } catch {
            throw ConfigError(file: config.sourcePath, key: "telemetry", message: error.description)
        }
    }

    package static func start(
        _ config: DaemonConfig,
        environment: [String: String],
        logger: Logger
    ) throws(ConfigError) -> (tracer: RequestTracer, service: any Service)? {
        guard let settings = try Self.settings(config, environment: environment) else { return nil }
        #if LLMUX_OTLP
        do {
            let backend = try TelemetryBackend.make(settings, logger: logger)
            logger.notice(
                "exporting traces",
                metadata: [
                    "endpoint": "\(settings.loggableEndpoint)", "protocol": "\(settings.wireProtocol.rawValue)",
                    "capture_content": "\(settings.captureContent)",
                ]
            )
            return backend
        } catch {
            throw ConfigError(file: config.sourcePath, key: "telemetry", message: "the OTLP exporter could not start: \(error)")
        }
        #else
        throw ConfigError(
            file: config.sourcePath,
            key: "telemetry",
            message:
                "traces are on (\(settings.loggableEndpoint)), but this llmuxd was built without its OTLP exporter (LLMUX_WITHOUT_OTEL=1, as scripts/sanitize thread builds it); build it without that variable, or turn traces off"
        )
        #endif
    }
}
