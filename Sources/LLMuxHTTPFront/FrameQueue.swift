import LLMuxWire
import NIOConcurrencyHelpers

/// Carries one request's frames from the engine to the HTTP response writer.
/// `next()` returns `nil` once the engine finished and everything was read.
/// A client that stops reading while `limit` frames wait trips `overflowed`,
/// and the request is cancelled instead of buffering without bound.
final class FrameQueue: Sendable {
    private struct State {
        var frames: [ServerFrame] = []
        var finished = false
        var waiter: CheckedContinuation<ServerFrame?, Never>?
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int
    private let onOverflow: @Sendable () -> Void

    init(limit: Int = 65_536, onOverflow: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onOverflow = onOverflow
    }

    func push(_ frame: ServerFrame) {
        var overflow = false
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<ServerFrame?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.frames.append(frame)
            overflow = state.frames.count == self.limit
            return nil
        }
        waiter?.resume(returning: frame)
        if overflow { self.onOverflow() }
    }

    func finish() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<ServerFrame?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    func next() async -> ServerFrame? {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLockedValue { state -> ServerFrame?? in
                if !state.frames.isEmpty { return .some(state.frames.removeFirst()) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
