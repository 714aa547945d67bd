import CoreMetrics
import Prometheus

/// The daemon's request metrics, recorded through swift-metrics into a
/// Prometheus registry of its own (not the process-wide `MetricsSystem`, so
/// several daemons in one test process keep separate counts), and rendered
/// in the Prometheus text format for `GET /metrics`.
public final class RequestMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let inFlight: Meter

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.registry = registry
        self.factory = factory
        self.inFlight = Meter(label: "llmux_requests_in_flight", factory: factory)
    }

    public func requestStarted() {
        self.inFlight.increment()
    }

    /// One finished request: `outcome` is the finish reason (`stop`, `cancelled`, ...) or the error code.
    public func requestFinished(
        route: String?,
        provider: String,
        outcome: String,
        timeToFirstToken: Duration?,
        inputTokens: Int?,
        outputTokens: Int?,
        cachedTokens: Int = 0,
        cacheWriteTokens: Int = 0,
        costUSD: Double? = nil
    ) {
        self.inFlight.decrement()
        let route = route ?? ""
        Counter(
            label: "llmux_requests_total",
            dimensions: [("route", route), ("provider", provider), ("outcome", outcome)],
            factory: self.factory
        ).increment()
        if let ttft = timeToFirstToken {
            let nanoseconds = ttft.components.seconds * 1_000_000_000 + ttft.components.attoseconds / 1_000_000_000
            Timer(label: "llmux_time_to_first_token_seconds", dimensions: [("route", route), ("provider", provider)], factory: self.factory)
                .recordNanoseconds(nanoseconds)
        }
        if let inputTokens, inputTokens > 0 {
            Counter(label: "llmux_tokens_total", dimensions: [("provider", provider), ("kind", "input")], factory: self.factory)
                .increment(by: inputTokens)
        }
        if let costUSD, costUSD > 0 {
            FloatingPointCounter(label: "llmux_cost_usd_total", dimensions: [("route", route), ("provider", provider)], factory: self.factory)
                .increment(by: costUSD)
        }
        if let outputTokens, outputTokens > 0 {
            Counter(label: "llmux_tokens_total", dimensions: [("provider", provider), ("kind", "output")], factory: self.factory)
                .increment(by: outputTokens)
        }
        // Parts of the input count, for cache hit and write rates.
        if cachedTokens > 0 {
            Counter(label: "llmux_tokens_total", dimensions: [("provider", provider), ("kind", "cached")], factory: self.factory)
                .increment(by: cachedTokens)
        }
        if cacheWriteTokens > 0 {
            Counter(label: "llmux_tokens_total", dimensions: [("provider", provider), ("kind", "cache_write")], factory: self.factory)
                .increment(by: cacheWriteTokens)
        }
    }

    /// A request refused before it started (`unknown_model`, `config_error`).
    public func requestRejected(outcome: String) {
        Counter(label: "llmux_requests_total", dimensions: [("route", ""), ("provider", ""), ("outcome", outcome)], factory: self.factory)
            .increment()
    }

    /// Every metric in the Prometheus text exposition format.
    public func render() -> [UInt8] {
        self.registry.emitToBuffer()
    }
}
