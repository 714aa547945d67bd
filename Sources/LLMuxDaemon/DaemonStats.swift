import LLMuxWire
import Synchronization

/// Live counters reported by `status` frames.
package final class DaemonStats: Sendable {
    package let startedAt = ContinuousClock.now
    private let connectionsCount = Atomic<Int>(0)
    private let inFlightCount = Atomic<Int>(0)
    private let totalCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Tasks waiting for the last request in flight to end (a graceful shutdown), by id.
    private let drainWaiters = Mutex<[Int: CheckedContinuation<Void, Never>]>([:])
    private let nextWaiter = Atomic<Int>(0)

    package init() {}

    package var connections: Int { self.connectionsCount.load(ordering: .relaxed) }
    package var inFlight: Int { self.inFlightCount.load(ordering: .relaxed) }
    package var requestsTotal: Int { self.totalCount.load(ordering: .relaxed) }

    /// Counts a new connection unless `limit` are already open; `false` when full.
    func tryOpenConnection(limit: Int) -> Bool {
        var current = self.connectionsCount.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = self.connectionsCount.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }
    func connectionClosed() { self.connectionsCount.subtract(1, ordering: .relaxed) }

    func requestStarted() {
        self.inFlightCount.add(1, ordering: .relaxed)
        self.totalCount.add(1, ordering: .relaxed)
    }

    func requestEnded() {
        guard self.inFlightCount.subtract(1, ordering: .relaxed).newValue == 0 else { return }
        let waiters = self.drainWaiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Returns once no request is in flight, or at `deadline`, or when the task is cancelled.
    func drained(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.drained() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once no request is in flight (or the task is cancelled).
    private func drained() async {
        let id = self.nextWaiter.add(1, ordering: .relaxed).newValue
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock `requestEnded` takes when the count reaches zero: no wake-up is missed.
                let now = self.drainWaiters.withLock { waiters -> Bool in
                    if self.inFlight == 0 || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.drainWaiters.withLock { $0.removeValue(forKey: id) }?.resume()
        }
    }

    /// Set once a graceful shutdown began: new requests are refused.
    package var isShuttingDown: Bool { self.stopping.load(ordering: .relaxed) }
    func beginShutdown() { self.stopping.store(true, ordering: .relaxed) }

    static let shuttingDownError = WireError(.shuttingDown, "llmuxd is shutting down; send the request again once it is back", retryable: true)
}
