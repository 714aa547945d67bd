package import AsyncHTTPClient
package import LLMuxConfig
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The daemon's shared, pooled HTTP clients: one that negotiates HTTP/2 where
/// the server offers it, and one restricted to HTTP/1.1 for providers
/// configured with `http1_only`; and, made when a provider first needs one, a
/// client per proxy (`proxy`, `HTTPS_PROXY`, `HTTP_PROXY`, see `ProxySelector`)
/// and HTTP version. Every request of every client reuses them.
/// `shutdown()` must be called before the daemon exits.
package final class UpstreamHTTPClients: Sendable {
    package let automatic: HTTPClient
    package let http1Only: HTTPClient
    private let selector: ProxySelector
    private let connectTimeoutMs: Int
    private struct ProxiedKey: Hashable {
        var proxy: UpstreamProxy
        var http1Only: Bool
    }
    private let proxied = NIOLockedValueBox<[ProxiedKey: HTTPClient]>([:])

    /// HTTP/1.1 connections per upstream host, one per concurrent stream.
    package static let maxConnectionsPerHost = 1024

    /// `environment` is llmuxd's: it holds the proxy variables.
    package init(connectTimeoutMs: Int, environment: [String: String] = [:]) {
        self.connectTimeoutMs = connectTimeoutMs
        self.selector = ProxySelector(environment: environment)
        self.automatic = Self.makeClient(.automatic, connectTimeoutMs: connectTimeoutMs, proxy: nil)
        self.http1Only = Self.makeClient(.http1Only, connectTimeoutMs: connectTimeoutMs, proxy: nil)
    }

    private static func makeClient(_ version: HTTPClient.Configuration.HTTPVersion, connectTimeoutMs: Int, proxy: UpstreamProxy?) -> HTTPClient {
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
        if let proxy {
            // async-http-client opens a CONNECT tunnel through the proxy for every upstream, TLS or not.
            let authorization = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password?.reveal() ?? "") }
            configuration.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
        }
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// Which proxy `provider`'s connections go through, and where that came from.
    package func proxyChoice(for provider: ProviderConfig) throws(UpstreamProxy.Invalid) -> ProxySelector.Choice {
        try self.selector.choice(for: provider)
    }

    /// The client for `provider`'s connections, or why none can be made.
    package func client(for provider: ProviderConfig) -> Result<HTTPClient, UpstreamProxy.Invalid> {
        let choice: ProxySelector.Choice
        do {
            choice = try self.selector.choice(for: provider)
        } catch {
            return .failure(error)
        }
        guard let proxy = choice.proxy else { return .success(provider.http1Only ? self.http1Only : self.automatic) }
        let key = ProxiedKey(proxy: proxy, http1Only: provider.http1Only)
        return .success(
            self.proxied.withLockedValue { clients in
                if let client = clients[key] { return client }
                let client = Self.makeClient(provider.http1Only ? .http1Only : .automatic, connectTimeoutMs: self.connectTimeoutMs, proxy: proxy)
                clients[key] = client
                return client
            })
    }

    package func shutdown() async throws {
        try await self.automatic.shutdown()
        try await self.http1Only.shutdown()
        let proxied = self.proxied.withLockedValue { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in proxied { try await client.shutdown() }
    }
}
