import LLMuxUpstream
import Synchronization

/// Enforces the per-phase deadlines of one request: response head, first
/// token, idle gap between reads, and total time. It wakes only when a
/// deadline could have passed, not per token.
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
        self.state.withLock {
            if case .awaitingHeaders = $0.phase { $0.phase = .awaitingFirstToken(since: now) }
            $0.lastActivity = now
        }
    }

    func bytesReceived() {
        let now = ContinuousClock.now
        self.state.withLock { $0.lastActivity = now }
    }

    func firstTokenReceived() {
        let now = ContinuousClock.now
        self.state.withLock {
            $0.phase = .streaming
            $0.lastActivity = now
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
            guard let (deadline, _) = self.nextDeadline() else {
                // No limit at all: wait for cancellation.
                do {
                    while true { try await Task.sleep(for: .seconds(3600)) }
                } catch {
                    return nil
                }
            }
            do {
                try await Task.sleep(until: deadline, clock: .continuous)
            } catch {
                return nil
            }
            // Activity may have moved the deadline while sleeping.
            if let (current, phase) = self.nextDeadline(), current <= .now {
                return phase
            }
        }
        return nil
    }

    func describe(_ phase: TimeoutPhase) -> String {
        func ms(_ d: Duration?) -> String {
            guard let d else { return "?" }
            let (seconds, attoseconds) = d.components
            return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
        }
        switch phase {
        case .header: return "no response head within \(ms(self.limits.header))"
        case .firstToken: return "no first token within \(ms(self.limits.firstToken)) of the response head"
        case .idle: return "the stream stalled: nothing received for \(ms(self.limits.idle))"
        case .total: return "the request exceeded its total time limit of \(ms(self.limits.total))"
        }
    }
}
