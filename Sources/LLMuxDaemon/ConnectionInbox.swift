import LLMuxConcurrency
import LLMuxWire
import NIOCore

/// Hands accepted connections from the event loop to the accept loop.
///
/// NIO's async `bind` drops connections that are accepted while the server
/// channel closes (apple/swift-nio#2813), and a dropped `NIOAsyncChannel`
/// traps because its writer was never finished. This inbox makes the handoff
/// lossless: a connection is either queued, and then always served (or at
/// least closed through `executeThenClose`), or refused before it is wrapped.
final class ConnectionInbox: Sendable {
    typealias Connection = NIOAsyncChannel<NDJSONInbound, ByteBuffer>

    private let queue = HandOff<FIFOBuffer<Connection>>()

    /// Queues a connection; false once the inbox is closed (the caller must not wrap or keep it).
    /// `make` wraps the channel under the queue's lock, so a close cannot come in between.
    func offer(_ make: () throws -> Connection) rethrows -> Bool {
        try self.queue.withBuffer { buffer, closed in
            guard !closed else { return false }
            buffer.append(try make())
            return true
        }
    }

    /// The next connection; after `close()`, the queued ones, then nil.
    func next() async -> Connection? {
        await self.queue.next()
    }

    /// Refuses further connections; `next()` drains the queue and then returns nil.
    func close() {
        self.queue.close()
    }
}
