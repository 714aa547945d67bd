import NIOConcurrencyHelpers

/// An unbounded single-consumer queue. Unlike `AsyncStream`, `next()` does
/// not give up when the consuming task is cancelled: the route coordinator
/// must still collect the final result of every attempt it started.
final class EventMailbox<Event: Sendable>: Sendable {
    private struct State {
        var events: [Event] = []
        var waiter: CheckedContinuation<Event, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func post(_ event: Event) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Event, Never>? in
            guard let waiter = state.waiter else {
                state.events.append(event)
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: event)
    }

    func next() async -> Event {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLockedValue { state -> Event? in
                if !state.events.isEmpty { return state.events.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
