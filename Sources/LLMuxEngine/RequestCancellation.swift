import LLMuxConcurrency

/// A one-shot cancellation signal for one task: a request (cancelled by a
/// `cancel` frame or a hang-up), one attempt of a request (cancelled when
/// another target won a hedge race), or an attempt whose phase deadline
/// passed (cancelled by its `RequestWatchdog`).
package final class RequestCancellation: Sendable {
    /// Ready once cancelled or once `run`'s body finished; the waiter takes nothing.
    private struct Signal: HandOffBuffer {
        var cancelled = false
        /// Why, when the canceller said (`superseded`).
        var reason: String?
        /// The body of `run` returned: nothing is left to cancel.
        var finished = false
        var isReady: Bool { self.cancelled || self.finished }
        mutating func take() {}
    }

    private let signal = HandOff(Signal())

    package init() {}

    package func cancel() {
        self.signal.withBuffer { signal, _ in signal.cancelled = true }
    }

    /// Cancels, saying why (the first reason given stays).
    package func cancel(reason: String) {
        self.signal.withBuffer { signal, _ in
            if !signal.cancelled { signal.reason = reason }
            signal.cancelled = true
        }
    }

    /// The reason of the cancel, if one was given.
    package var reason: String? {
        self.signal.withBuffer { signal, _ in signal.reason }
    }

    /// Returns once `cancel()` was called, `run`'s body finished, or the waiting task is cancelled.
    private func wait() async {
        await withTaskCancellationHandler {
            _ = await self.signal.next()
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
                self.signal.withBuffer { signal, _ in signal.finished = true }
            }
            await self.wait()
            group.cancelAll()
        }
    }
}
