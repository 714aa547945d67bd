import LLMuxConfig
import LLMuxWire
import NIOCore

/// Turns the body of one streamed answer, chunk by chunk, into normalized
/// events: SSE framing, the provider's interpreter, and the checks that the
/// stream is well-formed (a mid-stream error is thrown, the end is `[DONE]`
/// or a finish reason). Synchronous, so that the upstream client's async
/// reading loop holds only this value across its waits.
struct UpstreamStreamReader {
    private var parser: SSEParser
    private var interpreter: any StreamInterpreter
    private var events: [SSEEvent] = []
    private let providerName: String
    private let apiKey: Secret?
    /// Hand each event on as it came (`UpstreamEvent.native`) ahead of what it means.
    private var passesThrough: Bool
    /// A finish reason arrived: the answer is complete even if `[DONE]` never comes.
    private(set) var sawFinish = false
    private(set) var sawDone = false

    init(limits: SSEParser.Limits, interpreter: any StreamInterpreter, providerName: String, apiKey: Secret?, passesThrough: Bool = false) {
        self.passesThrough = passesThrough
        self.parser = SSEParser(limits: limits)
        self.interpreter = interpreter
        self.providerName = providerName
        self.apiKey = apiKey
    }

    /// Feeds one chunk and hands each event to `onEvent`; `true` once `[DONE]` arrived.
    @inline(never)
    mutating func read(_ chunk: ByteBuffer, onEvent: (UpstreamEvent) throws -> Void) throws -> Bool {
        self.events.removeAll(keepingCapacity: true)
        do {
            try self.parser.feed(chunk.readableBytesView, into: &self.events)
        } catch {
            throw UpstreamError(.protocolViolation, "provider '\(self.providerName)' sent an invalid event stream: \(error)")
        }
        for event in self.events {
            try self.handle(event, onEvent: onEvent)
            if self.sawDone { return true }
        }
        return false
    }

    /// Reads a whole answer that came as one JSON document (a `chat.completion`) as if it
    /// were one chunk followed by `[DONE]`: its text, tool calls, finish reason and usage.
    mutating func readWholeCompletion(_ body: String, onEvent: (UpstreamEvent) throws -> Void) throws {
        // A whole answer is no event the client's dialect has: it is translated, never passed on.
        self.passesThrough = false
        for event in [SSEEvent(data: body), SSEEvent(data: "[DONE]")] {
            try self.handle(event, onEvent: onEvent)
        }
        try self.finish()
    }

    private mutating func handle(_ event: SSEEvent, onEvent: (UpstreamEvent) throws -> Void) throws {
        let normalized: [UpstreamEvent]
        do {
            normalized = try self.interpreter.interpret(event)
        } catch {
            throw UpstreamError(.protocolViolation, "provider '\(self.providerName)' sent an event that is not valid JSON")
        }
        // An error event is not passed on: the request's error ends the client's stream instead.
        if self.passesThrough, event.data != "[DONE]", !normalized.contains(where: { if case .error = $0 { true } else { false } }) {
            try onEvent(.native(NativeEvent(event: event.event, data: event.data)))
        }
        for item in normalized {
            switch item {
            case .end:
                self.sawDone = true
            case .finish:
                self.sawFinish = true
            case .error(let message):
                var text = message
                if let apiKey = self.apiKey { text = apiKey.redact(in: text) }
                throw UpstreamError(.streamError, "provider '\(self.providerName)' reported an error mid-stream: \(text)")
            default:
                break
            }
            try onEvent(item)
        }
    }

    /// The body ended: it must have carried `[DONE]` or a finish reason.
    mutating func finish() throws {
        self.parser.finish()
        guard self.sawDone || self.sawFinish else {
            throw UpstreamError(.truncated, "provider '\(self.providerName)' ended the stream before [DONE] or a finish_reason")
        }
    }
}
