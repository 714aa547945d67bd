import LLMuxConfig
import LLMuxWire
import Logging
import NIOCore

/// The transport of a provider whose connections cannot be made as configured (an
/// `HTTPS_PROXY` that does not parse): every request fails at once with the reason, as a
/// connection failure, so routes fall back and the client reads what to fix.
struct MisconfiguredTransport: UpstreamTransport {
    let reason: String
    let eventLoop: any EventLoop

    func stream(
        _ request: ChatRequest,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?,
        logger: Logger,
        onProgress: @Sendable (UpstreamProgress) -> Void,
        onEvent: (UpstreamEvent) throws -> Void
    ) async throws {
        throw UpstreamError(.connect, "cannot reach provider '\(provider.name)': \(self.reason)")
    }
}
