import LLMuxWire
import NIOConcurrencyHelpers

/// The one place that writes a request's frames, in the order protocol.md
/// promises: `start` before anything else, `delta` frames numbered by `seq`
/// from 0 without gaps, and exactly one terminal frame (`done` or `error`)
/// after which nothing follows. A request refused before it ran (unknown
/// model, over budget) gets its `error` without a `start`.
///
/// The engine and the attempts write through it; every consumer (the socket
/// front's outbox, the HTTP front's encoders) can rely on that shape. A
/// consumer that merges deltas (the outbox, for a slow reader) numbers the
/// merged frames again, because merging changes how many there are.
///
/// Frames reach `sink` inside the framer's lock, so two tasks writing at
/// once (a winning attempt and the request's end) cannot reorder them.
final class ResponseFramer: Sendable {
    /// What the `start` frame says: the target that answers.
    struct Start: Sendable {
        var model: String
        var provider: String
        var route: String?
    }

    private struct State {
        var started = false
        var nextSeq = 0
        var ended = false
    }

    let id: String
    private let state = NIOLockedValueBox(State())
    private let sink: @Sendable (ServerFrame) -> Void

    init(id: String, sink: @escaping @Sendable (ServerFrame) -> Void) {
        self.id = id
        self.sink = sink
    }

    /// Sends `start` unless it was sent (or the request ended).
    func start(_ start: Start) {
        self.state.withLockedValue { state in
            guard !state.started, !state.ended else { return }
            state.started = true
            self.sink(.start(id: self.id, model: start.model, provider: start.provider, route: start.route))
        }
    }

    /// Sends the next delta. Before `start` or after the terminal frame there
    /// is nothing to attach it to: it is dropped, and `false` says so.
    @discardableResult
    func delta(text: String?, reasoning: String?, toolCalls: [ToolCallFragment], native: [NativeEvent] = []) -> Bool {
        self.state.withLockedValue { state in
            guard state.started, !state.ended else { return false }
            let seq = state.nextSeq
            state.nextSeq += 1
            self.sink(.delta(DeltaFrame(id: self.id, seq: seq, text: text, reasoning: reasoning, toolCalls: toolCalls, native: native)))
            return true
        }
    }

    /// Ends the request with `done`, after `start` if none was sent yet (and `start` is given:
    /// a cancelled embeddings request has none).
    func done(_ done: DoneFrame, start: Start?) {
        self.end(.done(done), start: start)
    }

    /// Ends an embeddings request with its one frame.
    func embeddings(_ embeddings: EmbeddingsFrame) {
        self.end(.embeddings(embeddings), start: nil)
    }

    /// Ends the request with `error`: after `start` (sent now if need be) when
    /// the request ran; without one when `start` is nil (it was refused).
    func fail(_ error: WireError, start: Start?) {
        self.end(.error(id: self.id, error), start: start)
    }

    /// How many deltas were sent.
    var deltasSent: Int { self.state.withLockedValue { $0.nextSeq } }

    private func end(_ terminal: ServerFrame, start: Start?) {
        self.state.withLockedValue { state in
            guard !state.ended else { return }
            if !state.started, let start {
                state.started = true
                self.sink(.start(id: self.id, model: start.model, provider: start.provider, route: start.route))
            }
            state.ended = true
            self.sink(terminal)
        }
    }
}
