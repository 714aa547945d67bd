import NIOConcurrencyHelpers

/// A one-shot cancellation signal for one task: a request (cancelled by a
/// `cancel` frame or a hang-up), one attempt of a request (cancelled when
/// another target won a hedge race), or an attempt whose phase deadline
/// passed (cancelled by its `RequestWatchdog`).
package final class RequestCancellation: Sendable {
    private struct State {
        var cancelled = false
        /// The body of `run` returned: nothing is left to cancel.
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    package func cancel() {
        self.wake { $0.cancelled = true }
    }

    private func wake(_ change: (inout State) -> Void) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once `cancel()` was called, `run`'s body finished, or the waiting task is cancelled.
    private func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLockedValue { state -> Bool in
                    if state.cancelled || state.finished { return true }
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
    ///
    /// `body` is the one child task: the calling task itself waits for the
    /// signal (or for `body` to finish), so a request costs no second task.
    package func run(_ body: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await body()
                self.wake { $0.finished = true }
            }
            await self.wait()
            group.cancelAll()
        }
    }
}
