package import NIOConcurrencyHelpers

/// What a `HandOff` holds for its consumer: a queue of elements, a buffer of
/// encoded bytes, whatever the producers add to and the consumer takes in
/// batches.
package protocol HandOffBuffer: Sendable {
    associatedtype Batch: Sendable
    /// Whether `take()` has something for the consumer now.
    var isReady: Bool { get }
    /// Removes and returns what the consumer gets next.
    mutating func take() -> Batch
}

/// The hand-off from any number of producers to one consumer task: producers
/// change the buffer under a lock and never suspend; the consumer waits in
/// `next()` until the buffer is ready. Every single-consumer queue of the
/// daemon is one of these (accepted connections, a connection's outgoing
/// frames, a request's frames for the HTTP writer, a route's events), so the
/// waking logic exists once.
///
/// `next()` is deliberately deaf to task cancellation: a consumer that is
/// being cancelled still collects what its producers hand it (the terminal
/// frame of a cancelled request, the last result of an attempt). It ends
/// with `close()`.
///
/// Its methods are inlinable so that each module that uses one gets them specialized for its
/// buffer: unspecialized, every call looked up the generic metadata of the state, the batch
/// and its continuation at run time (10 % of llmuxd's samples while relaying deltas).
package final class HandOff<Buffer: HandOffBuffer>: Sendable {
    @usableFromInline
    struct State: Sendable {
        @usableFromInline var buffer: Buffer
        @usableFromInline var closed = false
        @usableFromInline var waiter: CheckedContinuation<Buffer.Batch?, Never>?

        @inlinable
        init(buffer: Buffer) {
            self.buffer = buffer
        }
    }

    @usableFromInline
    let state: NIOLockedValueBox<State>

    @inlinable
    package init(_ buffer: Buffer) {
        self.state = NIOLockedValueBox(State(buffer: buffer))
    }

    /// Runs `body` on the buffer under the lock (`closed` says whether
    /// `close()` was called), then hands the waiting consumer a batch if the
    /// buffer is ready. The consumer is resumed outside the lock.
    @inlinable
    @discardableResult
    package func withBuffer<Result>(_ body: (inout Buffer, _ closed: Bool) throws -> Result) rethrows -> Result {
        var handed: (CheckedContinuation<Buffer.Batch?, Never>, Buffer.Batch)?
        let result = try self.state.withLockedValue { state in
            let result = try body(&state.buffer, state.closed)
            if let waiter = state.waiter, state.buffer.isReady {
                state.waiter = nil
                handed = (waiter, state.buffer.take())
            }
            return result
        }
        if let (waiter, batch) = handed { waiter.resume(returning: batch) }
        return result
    }

    /// The next batch, waiting for one; after `close()`, what is still ready, then nil.
    @inlinable
    package func next() async -> Buffer.Batch? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Buffer.Batch?, Never>) in
            let immediate: Buffer.Batch?? = self.state.withLockedValue { state in
                if state.buffer.isReady { return .some(state.buffer.take()) }
                if state.closed { return .some(nil) }
                precondition(state.waiter == nil, "a HandOff has one consumer")
                state.waiter = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// No more input: a waiting consumer gets what is ready, or nil. `body`
    /// runs on the buffer first (to release what was held back, say).
    @inlinable
    package func close(_ body: (inout Buffer) -> Void = { _ in }) {
        let handed: (CheckedContinuation<Buffer.Batch?, Never>, Buffer.Batch?)? = self.state.withLockedValue { state in
            state.closed = true
            body(&state.buffer)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.buffer.isReady ? state.buffer.take() : nil)
        }
        if let (waiter, batch) = handed { waiter.resume(returning: batch) }
    }
}
