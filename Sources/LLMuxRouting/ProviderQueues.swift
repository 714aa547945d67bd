package import LLMuxWire
import NIOConcurrencyHelpers

/// Caps the requests in flight per provider (`max_inflight`) and queues the
/// rest: interactive requests before background ones, first come first served
/// within each. Shared by every client of the daemon.
package final class ProviderQueues: Sendable {
    private struct Waiter {
        var ticket: UInt64
        var priority: RequestPriority
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct Queue {
        var running = 0
        var waiting: [Waiter] = []
    }

    private struct State {
        var queues: [String: Queue] = [:]
        var nextTicket: UInt64 = 0
        /// Tickets issued whose waiter is not queued yet.
        var issued: Set<UInt64> = []
        /// Issued tickets cancelled before their waiter was queued.
        var cancelledTickets: Set<UInt64> = []
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Waits for a slot of `provider` (limit `limit`; `nil` never waits).
    /// Returns `false` when the calling task was cancelled while waiting; a
    /// slot is held only when it returns `true`, and must then be released.
    package func acquire(_ provider: String, limit: Int?, priority: RequestPriority) async -> Bool {
        guard let limit else { return true }
        let ticket = self.state.withLockedValue { state -> UInt64? in
            var queue = state.queues[provider] ?? Queue()
            defer { state.queues[provider] = queue }
            if queue.running < limit && queue.waiting.isEmpty {
                queue.running += 1
                return nil
            }
            state.nextTicket += 1
            state.issued.insert(state.nextTicket)
            return state.nextTicket
        }
        guard let ticket else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let cancelledAlready = self.state.withLockedValue { state -> Bool in
                    state.issued.remove(ticket)
                    if state.cancelledTickets.remove(ticket) != nil { return true }
                    var queue = state.queues[provider] ?? Queue()
                    // Interactive waiters go before every background one.
                    let position =
                        priority == .interactive
                        ? (queue.waiting.firstIndex { $0.priority == .background } ?? queue.waiting.count)
                        : queue.waiting.count
                    queue.waiting.insert(Waiter(ticket: ticket, priority: priority, continuation: continuation), at: position)
                    state.queues[provider] = queue
                    return false
                }
                if cancelledAlready { continuation.resume(returning: false) }
            }
        } onCancel: {
            let waiter = self.state.withLockedValue { state -> Waiter? in
                if state.issued.contains(ticket) {
                    // Not queued yet: make the enqueue step give up.
                    state.cancelledTickets.insert(ticket)
                    return nil
                }
                // Already granted when not found: the caller holds the slot and releases it.
                guard var queue = state.queues[provider], let index = queue.waiting.firstIndex(where: { $0.ticket == ticket }) else {
                    return nil
                }
                let waiter = queue.waiting.remove(at: index)
                state.queues[provider] = queue
                return waiter
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Frees a slot taken by a successful `acquire`, handing it to the next waiter.
    package func release(_ provider: String) {
        let next = self.state.withLockedValue { state -> Waiter? in
            guard var queue = state.queues[provider] else { return nil }
            defer { state.queues[provider] = queue }
            if queue.waiting.isEmpty {
                queue.running -= 1
                return nil
            }
            // The slot passes straight to the next waiter: `running` stays the same.
            return queue.waiting.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    /// Requests waiting for `provider`.
    package func waiting(_ provider: String) -> Int {
        self.state.withLockedValue { $0.queues[provider]?.waiting.count ?? 0 }
    }
}
