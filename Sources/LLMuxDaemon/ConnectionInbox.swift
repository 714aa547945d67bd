import LLMuxWire
import NIOCore
import NIOConcurrencyHelpers

/// Hands accepted connections from the event loop to the accept loop.
///
/// NIO's async `bind` drops connections that are accepted while the server
/// channel closes (apple/swift-nio#2813), and a dropped `NIOAsyncChannel`
/// traps because its writer was never finished. This inbox makes the handoff
/// lossless: a connection is either queued, and then always served (or at
/// least closed through `executeThenClose`), or refused before it is wrapped.
final class ConnectionInbox: Sendable {
    typealias Connection = NIOAsyncChannel<NDJSONInbound, ByteBuffer>

    private struct State {
        var queue: [Connection] = []
        var waiter: CheckedContinuation<Connection?, Never>?
        var accepting = true
    }

    private let state = NIOLockedValueBox(State())

    /// Queues a connection; false once the inbox is closed (the caller must not wrap or keep it).
    func offer(_ make: () throws -> Connection) rethrows -> Bool {
        var waiter: CheckedContinuation<Connection?, Never>?
        var connection: Connection?
        let accepted = try self.state.withLockedValue { state -> Bool in
            guard state.accepting else { return false }
            let made = try make()
            if let parked = state.waiter {
                state.waiter = nil
                waiter = parked
                connection = made
            } else {
                state.queue.append(made)
            }
            return true
        }
        if let waiter { waiter.resume(returning: connection) }
        return accepted
    }

    /// The next connection; after `close()`, the queued ones, then nil.
    func next() async -> Connection? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Connection?, Never>) in
            let immediate: Connection?? = self.state.withLockedValue { state in
                if !state.queue.isEmpty { return .some(state.queue.removeFirst()) }
                if !state.accepting { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Refuses further connections; `next()` drains the queue and then returns nil.
    func close() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Connection?, Never>? in
            state.accepting = false
            guard state.queue.isEmpty else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
