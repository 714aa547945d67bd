import LLMuxUpstream
import LLMuxWire
import Synchronization

/// Enforces the per-phase deadlines of one request: response head, first
/// token, idle gap between reads, and total time. It wakes only when a
/// deadline could have passed or the phase changed, never per token: reads
/// only push the idle deadline later, which is checked when the old one expires.
final class RequestWatchdog: Sendable {
    struct Limits: Sendable {
        var header: Duration?
        var firstToken: Duration?
        var idle: Duration?
        var total: Duration?
    }

    private enum Phase {
        case awaitingHeaders
        case awaitingFirstToken(since: ContinuousClock.Instant)
        case streaming
    }

    private struct State {
        var phase: Phase = .awaitingHeaders
        var lastActivity: ContinuousClock.Instant
        /// Counts phase changes; the watchdog re-plans when it moves.
        var generation = 0
        var phaseWaiter: CheckedContinuation<Void, Never>?
        /// Set once the waiting task is cancelled, so a late waiter does not park forever.
        var waitingCancelled = false
    }

    private let limits: Limits
    private let start: ContinuousClock.Instant
    private let state: Mutex<State>

    init(limits: Limits, start: ContinuousClock.Instant) {
        self.limits = limits
        self.start = start
        self.state = Mutex(State(lastActivity: start))
    }

    func headersReceived() {
        let now = ContinuousClock.now
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.lastActivity = now
            guard case .awaitingHeaders = state.phase else { return nil }
            state.phase = .awaitingFirstToken(since: now)
            return Self.advance(&state)
        }
        waiter?.resume()
    }

    func bytesReceived() {
        let now = ContinuousClock.now
        self.state.withLock { $0.lastActivity = now }
    }

    func firstTokenReceived() {
        let now = ContinuousClock.now
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.lastActivity = now
            if case .streaming = state.phase { return nil }
            state.phase = .streaming
            return Self.advance(&state)
        }
        waiter?.resume()
    }

    private static func advance(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        state.generation += 1
        defer { state.phaseWaiter = nil }
        return state.phaseWaiter
    }

    /// Returns when the phase moves past `generation`, or when cancelled.
    private func phaseChange(after generation: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.generation != generation || state.waitingCancelled { return true }
                    state.phaseWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.waitingCancelled = true
                defer { state.phaseWaiter = nil }
                return state.phaseWaiter
            }
            waiter?.resume()
        }
    }

    /// The earliest deadline now in force, and the phase it belongs to.
    private func nextDeadline() -> (ContinuousClock.Instant, TimeoutPhase)? {
        let state = self.state.withLock { $0 }
        var candidates: [(ContinuousClock.Instant, TimeoutPhase)] = []
        if let total = self.limits.total { candidates.append((self.start + total, .total)) }
        switch state.phase {
        case .awaitingHeaders:
            if let header = self.limits.header { candidates.append((self.start + header, .header)) }
        case .awaitingFirstToken(let since):
            if let firstToken = self.limits.firstToken { candidates.append((since + firstToken, .firstToken)) }
        case .streaming:
            if let idle = self.limits.idle { candidates.append((state.lastActivity + idle, .idle)) }
        }
        return candidates.min { $0.0 < $1.0 }
    }

    /// Returns the phase whose deadline passed, or `nil` when cancelled first.
    func run() async -> TimeoutPhase? {
        while !Task.isCancelled {
            // The previous round's waiter (if cancelled) has finished: start clean.
            let generation = self.state.withLock { state in
                state.waitingCancelled = false
                return state.generation
            }
            let deadline = self.nextDeadline()?.0
            // Sleep until the deadline, or until the phase changes (which can move it earlier).
            await withTaskGroup(of: Void.self) { group in
                if let deadline {
                    group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
                }
                group.addTask { await self.phaseChange(after: generation) }
                await group.next()
                group.cancelAll()
            }
            if Task.isCancelled { return nil }
            // Reads may have pushed the idle deadline later while sleeping.
            if let (current, phase) = self.nextDeadline(), current <= .now {
                return phase
            }
        }
        return nil
    }

    func describe(_ phase: TimeoutPhase) -> String {
        func ms(_ d: Duration?) -> String {
            d.map { "\($0.wholeMilliseconds) ms" } ?? "?"
        }
        switch phase {
        case .header: return "no response head within \(ms(self.limits.header))"
        case .firstToken: return "no first token within \(ms(self.limits.firstToken)) of the response head"
        case .idle: return "the stream stalled: nothing received for \(ms(self.limits.idle))"
        case .total: return "the request exceeded its total time limit of \(ms(self.limits.total))"
        }
    }
}
