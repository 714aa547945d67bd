import LLMuxWire
import NIOCore
import LLMuxConcurrency

/// The outgoing side of one connection. Request tasks hand frames to `send`,
/// which never suspends, so a cancelled request can still deliver its
/// terminal frame. One writer task takes everything pending at once with
/// `next()` and writes it in a single flush, which coalesces frames produced
/// while the socket was busy.
///
/// The outbox numbers each request's deltas itself (`seq` 0, 1, 2, ...), so
/// that it can merge them. Memory is bounded:
/// - once `mergeThresholdBytes` wait for a slow reader, further deltas of a
///   request are merged into one pending delta per request (text, reasoning
///   and tool-call pieces appended), instead of queueing frame after frame;
/// - if what waits still exceeds `maxPendingBytes`, the request with the most
///   merged output fails with `error{code:"backpressure"}`, its merged output
///   is dropped and `onBackpressure` cancels it (aborting its upstream request);
/// - if non-delta frames alone exceed it, the connection is closed (`onOverflow`).
///
/// A request with a coalescing window (`coalesce_ms`) sends its first delta at
/// once; a delta that comes less than a window after the last one sent is
/// held and merged with those that follow, and the merged delta goes out when
/// the window ends (`schedule` runs that release) or before the request's
/// terminal frame.
final class FrameOutbox: Sendable {
    /// Runs a closure after a delay (the connection's event loop in the daemon).
    typealias Scheduler = @Sendable (Duration, @escaping @Sendable () -> Void) -> Void

    /// What waits for the writer; the hand-off wakes it once something can go out.
    private struct Pending: HandOffBuffer {
        var pending = ByteBuffer()
        var overflowed = false
        /// The next `seq` of each request that sent deltas.
        var sequences: [String: Int] = [:]
        /// Deltas merged while the reader is slow, by request, in arrival order.
        var merged: [String: DeltaFrame] = [:]
        var mergedOrder: [String] = []
        var mergedBytes = 0
        /// Requests failed with `backpressure`: their later frames are dropped.
        var failed: Set<String> = []
        /// Coalescing windows of the requests that asked for one.
        var windows: [String: Duration] = [:]
        /// When each coalescing request's last delta went out.
        var lastSent: [String: ContinuousClock.Instant] = [:]
        /// Merged deltas that wait for their coalescing window to end; `take` leaves them.
        var held: Set<String> = []

        /// The clock of the coalescing windows.
        let now: @Sendable () -> ContinuousClock.Instant

        var isReady: Bool {
            self.pending.readableBytes > 0 || self.mergedOrder.contains { !self.held.contains($0) }
        }

        /// Everything pending, merged deltas included, except those held for a coalescing window.
        mutating func take() -> ByteBuffer {
            for id in self.mergedOrder where !self.held.contains(id) { self.flushMerged(id) }
            let buffer = self.pending
            self.pending = ByteBuffer()
            return buffer
        }

        /// Encodes the merged delta of `id`, if any, into `pending`.
        mutating func flushMerged(_ id: String) {
            guard var merged = self.merged.removeValue(forKey: id) else { return }
            self.mergedOrder.removeAll { $0 == id }
            self.mergedBytes -= merged.byteCount
            self.held.remove(id)
            merged.seq = self.nextSeq(id)
            ServerFrame.delta(merged).encode(into: &self.pending)
            if self.windows[id] != nil { self.lastSent[id] = self.now() }
        }

        mutating func nextSeq(_ id: String) -> Int {
            let seq = self.sequences[id, default: 0]
            self.sequences[id] = seq + 1
            return seq
        }

        mutating func merge(_ delta: DeltaFrame) {
            if self.merged[delta.id] == nil {
                self.merged[delta.id] = DeltaFrame(id: delta.id, seq: 0)
                self.mergedOrder.append(delta.id)
            }
            // Appended in place (through the dictionary's modify accessor): no copy of the growing text.
            let before = self.merged[delta.id]!.byteCount
            self.merged[delta.id]!.absorb(delta)
            self.mergedBytes += self.merged[delta.id]!.byteCount - before
        }
    }

    let maxPendingBytes: Int
    let mergeThresholdBytes: Int
    private let state: HandOff<Pending>
    private let onOverflow: @Sendable () -> Void
    private let onBackpressure: @Sendable (String) -> Void
    private let schedule: Scheduler
    /// The clock of the coalescing windows (a test's manual clock, or the continuous clock).
    private let now: @Sendable () -> ContinuousClock.Instant

    init(
        maxPendingBytes: Int,
        mergeThresholdBytes: Int? = nil,
        schedule: @escaping Scheduler,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        onBackpressure: @escaping @Sendable (String) -> Void = { _ in },
        onOverflow: @escaping @Sendable () -> Void
    ) {
        self.schedule = schedule
        self.now = now
        self.state = HandOff(Pending(now: now))
        self.maxPendingBytes = maxPendingBytes
        self.mergeThresholdBytes = mergeThresholdBytes ?? min(1 << 20, maxPendingBytes / 4)
        self.onBackpressure = onBackpressure
        self.onOverflow = onOverflow
    }

    /// Gives request `id` a coalescing window; a zero window sends every delta at once.
    /// It lasts until the request's terminal frame.
    func coalesce(_ id: String, window: Duration) {
        guard window > .zero else { return }
        self.state.withBuffer { state, _ in state.windows[id] = window }
    }

    /// Queues a frame. Returns false when it was not queued (closed, overflowed,
    /// or its request already failed with `backpressure`).
    @discardableResult
    func send(_ frame: ServerFrame) -> Bool {
        var overflowedNow = false
        var victim: String?
        var release: (id: String, after: Duration)?
        let now = self.now()
        let accepted = self.state.withBuffer { state, closed -> Bool in
            guard !closed, !state.overflowed else { return false }
            // A `duplicate_id` error rejects a new request; it never ends the one running under that id.
            let endsRequest: Bool
            if case .error(_, let error) = frame, error.code == .duplicateID { endsRequest = false } else { endsRequest = frame.isTerminal }
            if let id = frame.id, state.failed.contains(id) {
                // The request already got its terminal `backpressure` error; its own terminal frame ends the drop.
                if endsRequest { state.failed.remove(id) }
                return false
            }
            switch frame {
            case .delta(let delta)
            where state.merged[delta.id] != nil || state.pending.readableBytes + state.mergedBytes > self.mergeThresholdBytes:
                state.merge(delta)
            case .delta(let delta)
            where state.windows[delta.id] != nil && state.lastSent[delta.id].map { now < $0 + state.windows[delta.id]! } == true:
                // Within the window after the last delta sent: hold it until the window ends.
                state.merge(delta)
                state.held.insert(delta.id)
                release = (delta.id, state.lastSent[delta.id]! + state.windows[delta.id]! - now)
            case .delta(var delta):
                delta.seq = state.nextSeq(delta.id)
                ServerFrame.delta(delta).encode(into: &state.pending)
                if state.windows[delta.id] != nil { state.lastSent[delta.id] = now }
            default:
                if endsRequest, let id = frame.id {
                    state.flushMerged(id)
                    state.sequences[id] = nil
                    state.windows[id] = nil
                    state.lastSent[id] = nil
                }
                frame.encode(into: &state.pending)
            }
            if state.pending.readableBytes + state.mergedBytes > self.maxPendingBytes {
                if let largest = state.mergedOrder.max(by: { (state.merged[$0]?.byteCount ?? 0) < (state.merged[$1]?.byteCount ?? 0) }) {
                    // Fail the stream holding the most merged output.
                    state.mergedBytes -= state.merged[largest]?.byteCount ?? 0
                    state.merged[largest] = nil
                    state.mergedOrder.removeAll { $0 == largest }
                    state.held.remove(largest)
                    state.sequences[largest] = nil
                    state.windows[largest] = nil
                    state.lastSent[largest] = nil
                    state.failed.insert(largest)
                    ServerFrame.error(
                        id: largest,
                        WireError(
                            .backpressure,
                            "the client read too slowly: more than \(self.maxPendingBytes) bytes of frames waited, and this stream had the most; it was stopped",
                            retryable: true
                        )
                    ).encode(into: &state.pending)
                    victim = largest
                }
                if state.pending.readableBytes > self.maxPendingBytes {
                    state.overflowed = true
                    state.pending.clear()
                    overflowedNow = true
                }
            }
            return true
        }
        if let release { self.schedule(release.after) { [weak self] in self?.release(release.id) } }
        if let victim { self.onBackpressure(victim) }
        if overflowedNow { self.onOverflow() }
        return accepted
    }

    /// The coalescing window of `id` ended: its held delta may go out.
    private func release(_ id: String) {
        self.state.withBuffer { state, _ in _ = state.held.remove(id) }
    }

    /// Everything pending, waiting for it if need be; `nil` once closed and drained.
    ///
    /// Deliberately deaf to task cancellation: a cancelled connection still
    /// delivers the terminal frames its cancelled requests produce. The
    /// session closes the outbox once every request has ended (or the client is gone).
    func next() async -> ByteBuffer? {
        await self.state.next()
    }

    /// No more frames: the writer drains what is pending, then `next()` returns nil.
    func close() {
        // Nothing is held back any longer: the writer drains every merged delta.
        self.state.close { $0.held.removeAll() }
    }
}

extension DeltaFrame {
    /// Appends `delta`'s text, reasoning and tool-call pieces.
    mutating func absorb(_ delta: DeltaFrame) {
        if let text = delta.text {
            if self.text == nil { self.text = text } else { self.text!.append(text) }
        }
        if let reasoning = delta.reasoning {
            if self.reasoning == nil { self.reasoning = reasoning } else { self.reasoning!.append(reasoning) }
        }
        for fragment in delta.toolCalls {
            // A piece of the call the last fragment belongs to extends it; a new call starts a new fragment.
            if let last = self.toolCalls.indices.last, self.toolCalls[last].index == fragment.index, fragment.id == nil, fragment.name == nil {
                self.toolCalls[last].arguments = (self.toolCalls[last].arguments ?? "") + (fragment.arguments ?? "")
            } else {
                self.toolCalls.append(fragment)
            }
        }
    }

    /// Roughly what the frame takes on the wire.
    var byteCount: Int {
        (self.text?.utf8.count ?? 0) + (self.reasoning?.utf8.count ?? 0)
            + self.toolCalls.reduce(0) { $0 + ($1.arguments?.utf8.count ?? 0) + ($1.name?.utf8.count ?? 0) + 32 } + 48
    }
}
