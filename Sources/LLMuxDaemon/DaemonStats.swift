import LLMuxWire
import Synchronization

/// Live counters reported by `status` frames.
public final class DaemonStats: Sendable {
    public let startedAt = ContinuousClock.now
    private let connectionsCount = Atomic<Int>(0)
    private let inFlightCount = Atomic<Int>(0)
    private let totalCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public var connections: Int { self.connectionsCount.load(ordering: .relaxed) }
    public var inFlight: Int { self.inFlightCount.load(ordering: .relaxed) }
    public var requestsTotal: Int { self.totalCount.load(ordering: .relaxed) }

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

    func requestEnded() { self.inFlightCount.subtract(1, ordering: .relaxed) }

    /// Set once a graceful shutdown began: new requests are refused.
    public var isShuttingDown: Bool { self.stopping.load(ordering: .relaxed) }
    func beginShutdown() { self.stopping.store(true, ordering: .relaxed) }

    static let shuttingDownError = WireError(.shuttingDown, "llmuxd is shutting down; send the request again once it is back", retryable: true)
}
