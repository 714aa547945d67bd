import Synchronization

/// A one-shot cancellation signal for one task: a request (cancelled by a
/// `cancel` frame or a hang-up) or one attempt of a request (cancelled when
/// another target won a hedge race).
public final class RequestCancellation: Sendable {
    private struct State {
        var cancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func cancel() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.cancelled = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once `cancel()` was called, or when the waiting task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.cancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.cancel()
        }
    }

    /// Runs `body` until it finishes or this signal fires; in the latter case
    /// `body`'s task is cancelled and awaited (so it can report the cancel).
    public func run(_ body: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await body() }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}
