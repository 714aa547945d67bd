import LLMuxWire
import NIOCore
import Synchronization

/// The outgoing side of one connection. Request tasks hand frames to `send`,
/// which encodes them straight into a pending buffer and never suspends, so a
/// cancelled request can still deliver its terminal frame. One writer task
/// takes everything pending at once with `next()` and writes it in a single
/// flush, which coalesces frames produced while the socket was busy.
///
/// Memory is bounded: once more than `maxPendingBytes` wait for a client that
/// does not read, the outbox overflows, refuses further frames, and the
/// connection is closed.
final class FrameOutbox: Sendable {
    private struct State {
        var pending = ByteBuffer()
        var waiter: CheckedContinuation<ByteBuffer?, Never>?
        var closed = false
        var overflowed = false
    }

    let maxPendingBytes: Int
    private let state = Mutex(State())
    /// Called once, from the sending task, when the outbox overflows.
    private let onOverflow: @Sendable () -> Void

    init(maxPendingBytes: Int, onOverflow: @escaping @Sendable () -> Void) {
        self.maxPendingBytes = maxPendingBytes
        self.onOverflow = onOverflow
    }

    /// Queues a frame. Returns false when the outbox is closed or overflowed.
    /// Overflowing drops what is pending and calls `onOverflow`, which closes the connection.
    @discardableResult
    func send(_ frame: ServerFrame) -> Bool {
        var overflowedNow = false
        let (accepted, waiter, buffer): (Bool, CheckedContinuation<ByteBuffer?, Never>?, ByteBuffer?) = self.state.withLock { state in
            guard !state.closed, !state.overflowed else { return (false, nil, nil) }
            frame.encode(into: &state.pending)
            if state.pending.readableBytes > self.maxPendingBytes {
                state.overflowed = true
                state.pending.clear()
                overflowedNow = true
            }
            if let waiter = state.waiter {
                state.waiter = nil
                let buffer = state.pending
                state.pending = ByteBuffer()
                return (true, waiter, buffer)
            }
            return (true, nil, nil)
        }
        waiter?.resume(returning: buffer)
        if overflowedNow { self.onOverflow() }
        return accepted
    }

    /// Everything pending, waiting for it if need be; `nil` once closed and drained.
    ///
    /// Deliberately deaf to task cancellation: a cancelled connection still
    /// delivers the terminal frames its cancelled requests produce. The
    /// session closes the outbox once every request has ended (or the client is gone).
    func next() async -> ByteBuffer? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ByteBuffer?, Never>) in
            let immediate: ByteBuffer?? = self.state.withLock { state in
                if state.pending.readableBytes > 0 {
                    let buffer = state.pending
                    state.pending = ByteBuffer()
                    return .some(buffer)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// No more frames: the writer drains what is pending, then `next()` returns nil.
    func close() {
        let waiter = self.state.withLock { state -> CheckedContinuation<ByteBuffer?, Never>? in
            state.closed = true
            if state.pending.readableBytes == 0, let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            return nil
        }
        waiter?.resume(returning: nil)
    }
}
