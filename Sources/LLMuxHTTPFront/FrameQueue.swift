import LLMuxConcurrency
import LLMuxWire

/// Carries one request's frames from the engine to the HTTP response writer,
/// which takes every frame that is waiting at once (and so writes them with
/// one write). `next()` returns `nil` once the engine finished and everything
/// was read. A client that stops reading while `limit` frames wait trips
/// `onOverflow`, and the request is cancelled instead of buffering without
/// bound.
final class FrameQueue: Sendable {
    private let queue = HandOff<BatchFIFOBuffer<ServerFrame>>(BatchFIFOBuffer())
    private let limit: Int
    private let onOverflow: @Sendable () -> Void

    init(limit: Int = 65_536, onOverflow: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onOverflow = onOverflow
    }

    func push(_ frame: ServerFrame) {
        let waiting = self.queue.withBuffer { buffer, _ in
            buffer.append(frame)
            return buffer.count
        }
        // A waiting writer takes the frame at once (the queue was empty): `waiting` is then 1.
        if waiting == self.limit { self.onOverflow() }
    }

    func finish() {
        self.queue.close()
    }

    /// The frames that arrived since the last call, oldest first, waiting for at least one.
    func next() async -> [ServerFrame]? {
        await self.queue.next()
    }
}
