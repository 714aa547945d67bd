package import AsyncHTTPClient
package import LLMuxConfig
import NIOCore
import NIOPosix

/// The daemon's shared, pooled HTTP clients: one that negotiates HTTP/2 where
/// the server offers it, and one restricted to HTTP/1.1 for providers
/// configured with `http1_only`. Every request of every client reuses them.
/// `shutdown()` must be called before the daemon exits.
package final class UpstreamHTTPClients: Sendable {
    package let automatic: HTTPClient
    package let http1Only: HTTPClient

    /// HTTP/1.1 connections per upstream host, one per concurrent stream.
    package static let maxConnectionsPerHost = 1024

    package init(connectTimeoutMs: Int) {
        func configuration(_ version: HTTPClient.Configuration.HTTPVersion) -> HTTPClient.Configuration {
            var configuration = HTTPClient.Configuration()
            configuration.httpVersion = version
            configuration.timeout = .init(connect: .milliseconds(Int64(connectTimeoutMs)))
            // A streamed answer holds its HTTP/1.1 connection for its whole length, so the
            // pool must allow as many connections per host as there are concurrent streams;
            // async-http-client's default of 8 queues the 9th request until it times out.
            configuration.connectionPool = .init(
                idleTimeout: .seconds(90),
                concurrentHTTP1ConnectionsPerHostSoftLimit: Self.maxConnectionsPerHost
            )
            configuration.decompression = .disabled
            configuration.redirectConfiguration = .disallow
            // A refused connection fails the request at once; fallback across targets is the router's job.
            configuration.connectionPool.retryConnectionEstablishment = false
            return configuration
        }
        self.automatic = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration(.automatic))
        self.http1Only = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration(.http1Only))
    }

    package func client(for provider: ProviderConfig) -> HTTPClient {
        provider.http1Only ? self.http1Only : self.automatic
    }

    package func shutdown() async throws {
        try await self.automatic.shutdown()
        try await self.http1Only.shutdown()
    }
}
