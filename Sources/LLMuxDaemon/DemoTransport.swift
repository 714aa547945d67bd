import LLMuxConfig
import LLMuxMockScript
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOCore
import NIOPosix

/// The built-in demo provider, in process: it plays `DemoResponder.script` (or the script a
/// `mock:` model spec names, such as `demo/mock:chunks=3,size=4`) as upstream events, with the
/// script's delays and faults, and opens no socket. Cancelling the calling task ends it at once.
struct DemoTransport: UpstreamTransport {
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }

    func stream(
        _ request: ChatRequest,
        provider: ProviderConfig,
        upstreamModel: String,
        apiKey: Secret?,
        logger: Logger,
        onProgress: @Sendable (UpstreamProgress) -> Void,
        onEvent: (UpstreamEvent) throws -> Void
    ) async throws {
        guard request.operation == .chat else {
            throw UpstreamError(
                .http(status: 400),
                "provider '\(provider.name)' answered HTTP 400: the built-in demo answers chats only; configure a real provider for \(request.operation.capability.rawValue) requests"
            )
        }
        let script: MockScript
        do {
            script = try MockScript(spec: upstreamModel) ?? DemoResponder.script
        } catch {
            throw UpstreamError(.http(status: 400), "provider '\(provider.name)' answered HTTP 400: \(error.message)")
        }
        guard script.status == 200 else {
            throw UpstreamError(.http(status: script.status), "provider '\(provider.name)' answered HTTP \(script.status): demo error")
        }
        onProgress(.headers)
        for (index, text) in script.chunks.enumerated() {
            try await Self.pause(index == 0 ? script.firstTokenDelayMs : script.intervalMs)
            if let fault = script.fault { try await Self.play(fault, at: index, provider: provider.name) }
            onProgress(.bytes)
            try onEvent(.delta(text: text, reasoning: nil, toolCalls: []))
        }
        if let fault = script.fault { try await Self.play(fault, at: script.chunks.count, provider: provider.name) }
        for (index, call) in script.toolCalls.enumerated() {
            try onEvent(.delta(text: nil, reasoning: nil, toolCalls: [ToolCallFragment(index: index, id: call.id, name: call.name, arguments: call.arguments)]))
        }
        try onEvent(.finish(reason: script.toolCalls.isEmpty ? script.finishReason : "tool_calls"))
        let promptTokens = MockScript.promptTokens(messageBytes: JSONValue.array(request.messages).jsonString.utf8.count)
        try onEvent(.usage(Usage(inputTokens: promptTokens, outputTokens: script.chunks.count)))
        try onEvent(.end)
    }

    private static func pause(_ milliseconds: Int) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
    }

    /// What a script's fault does to the stream at chunk `index`, as the mock HTTP upstream's
    /// faults look to the engine once its reader has interpreted them.
    private static func play(_ fault: MockScript.Fault, at index: Int, provider: String) async throws {
        switch fault {
        case .resetBeforeHeaders where index == 0:
            throw UpstreamError(.connect, "cannot reach provider '\(provider)': connection reset (demo)")
        case .stallHeaders, .stallAfterChunks(index):
            // Silent until a phase deadline or the client cancels.
            while true { try await Task.sleep(for: .seconds(3600)) }
        case .resetAfterChunks(index):
            throw UpstreamError(.truncated, "the connection to provider '\(provider)' broke mid-stream: connection reset (demo)")
        case .endAfterChunks(index):
            throw UpstreamError(.truncated, "provider '\(provider)' ended the stream before [DONE] or a finish_reason")
        case .malformedAfterChunks(index), .oversizedEventAfterChunks(index, _):
            throw UpstreamError(.protocolViolation, "provider '\(provider)' sent an event that is not valid JSON")
        case .errorEventAfterChunks(index, let message):
            throw UpstreamError(.streamError, "provider '\(provider)' reported an error mid-stream: \(message)")
        default:
            return
        }
    }
}
