/// Decides when llmuxd hands freed heap memory back to the kernel (`malloc_trim`).
///
/// glibc keeps what a burst of requests freed in its arenas: without a trim, llmuxd's RSS after
/// 10,000 streams ended stayed near its peak for as long as the daemon ran. A trim walks every
/// arena, so it runs only when the daemon is idle: no request in flight, none started or ended
/// for `quietPeriod`, and at least one since the last trim (an idle daemon is never trimmed
/// twice). A value type fed by a periodic tick with the time passed in, so its tests need no clock.
package struct IdleTrimStateMachine: Sendable {
    package enum Action: Equatable, Sendable {
        case none
        case trim
    }

    private let quietPeriod: Duration
    /// The request total when memory was last trimmed (0: none since the start).
    private var trimmedAtTotal = 0
    /// The request total at the last tick, and when it last changed or a request was in flight.
    private var lastTotal = 0
    private var quietSince: ContinuousClock.Instant?

    package init(quietPeriod: Duration) {
        self.quietPeriod = quietPeriod
    }

    /// One look at the daemon: `inFlight` requests running, `total` started since it began.
    package mutating func tick(inFlight: Int, total: Int, now: ContinuousClock.Instant) -> Action {
        defer { self.lastTotal = total }
        guard inFlight == 0, total != self.trimmedAtTotal else {
            self.quietSince = nil
            return .none
        }
        guard total == self.lastTotal, let quietSince = self.quietSince else {
            // Requests came and went since the last tick: the quiet period starts now.
            self.quietSince = now
            return .none
        }
        guard now - quietSince >= self.quietPeriod else { return .none }
        self.trimmedAtTotal = total
        self.quietSince = nil
        return .trim
    }
}
