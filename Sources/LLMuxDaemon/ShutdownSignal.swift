import NIOConcurrencyHelpers

/// Asks a running daemon to stop gracefully (SIGTERM, SIGINT): stop
/// accepting, let requests in flight finish within the grace period, then
/// cut off the rest with `shutting_down`. Cancelling the daemon's task
/// instead stops it at once.
public final class ShutdownSignal: Sendable {
    private struct State {
        var triggered = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func trigger() {
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.triggered = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once triggered. (A cancelled waiter keeps waiting; callers race it in a task group.)
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLockedValue { state -> Bool in
                if state.triggered { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
