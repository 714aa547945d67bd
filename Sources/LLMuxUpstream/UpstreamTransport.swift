package import LLMuxConfig
package import LLMuxWire
package import Logging
package import NIOCore

/// One way of running a chat request against a provider, streaming its answer as normalized
/// `UpstreamEvent`s: over HTTP in the provider's dialect (`UpstreamChatClient`), or in process
/// (the built-in demo). The engine holds transports, never HTTP clients, so a new provider
/// dialect or an in-process responder plugs in without touching it.
package protocol UpstreamTransport: Sendable {
    /// Where the attempt's phase timers run.
    var eventLoop: any EventLoop { get }

    /// Runs one request. `onEvent` receives every event in order; errors it throws propagate
    /// unchanged. Upstream failures are thrown as `UpstreamError`, cancellation as
    /// `CancellationError` (cancelling the calling task aborts the request at once).
    func stream(
        _ request: ChatRequest,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?,
        logger: Logger,
        onProgress: @Sendable (UpstreamProgress) -> Void,
        onEvent: (UpstreamEvent) throws -> Void
    ) async throws
}

/// The transport of each provider, as the daemon wires them: HTTP for configured providers,
/// whatever the daemon chooses for the others.
package struct UpstreamTransports: Sendable {
    private let select: @Sendable (ProviderConfig) -> any UpstreamTransport

    package init(_ select: @escaping @Sendable (ProviderConfig) -> any UpstreamTransport) {
        self.select = select
    }

    /// Every provider over HTTP, through the shared pooled clients.
    package static func http(_ clients: UpstreamHTTPClients) -> UpstreamTransports {
        UpstreamTransports { provider in
            switch clients.client(for: provider) {
            case .success(let client):
                return UpstreamChatClient(httpClient: client)
            case .failure(let invalid):
                return MisconfiguredTransport(reason: invalid.description, eventLoop: clients.http1Only.eventLoopGroup.any())
            }
        }
    }

    package func transport(for provider: ProviderConfig) -> any UpstreamTransport {
        self.select(provider)
    }
}
