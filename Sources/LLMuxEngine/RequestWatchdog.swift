import LLMuxUpstream
import LLMuxWire
import NIOCore
import NIOConcurrencyHelpers

/// Enforces the per-phase deadlines of one attempt: response head, first
/// token, idle gap between reads, and total time.
///
/// It is a timer on an event loop, not a task: one timer is armed for the
/// earliest deadline in force and re-armed when the phase changes. Reads only
/// push the idle deadline later, which is checked when the timer fires, so
/// nothing runs per token. When a deadline passes, `onTimeout` is called once
/// with its phase (the attempt runner cancels the attempt there) and
/// `expiredPhase` keeps it.
///
/// All of its time is the event loop's (`EventLoop.now`), so a test drives it with an
/// `EmbeddedEventLoop`'s clock instead of sleeping.
final class RequestWatchdog: Sendable {
    struct Limits: Sendable {
        var header: Duration?
        var firstToken: Duration?
        var idle: Duration?
        var total: Duration?
    }

    private enum Phase {
        case awaitingHeaders
        case awaitingFirstToken(since: NIODeadline)
        case streaming
    }

    private struct State {
        var phase: Phase = .awaitingHeaders
        var lastActivity: NIODeadline
        var timer: Scheduled<Void>?
        var expired: TimeoutPhase?
        var stopped = false
    }

    private let limits: Limits
    private let start: NIODeadline
    private let eventLoop: any EventLoop
    private let onTimeout: @Sendable (TimeoutPhase) -> Void
    private let state: NIOLockedValueBox<State>

    /// Arms the first deadline at once; call `stop()` when the attempt ends. `elapsed` is how
    /// long the attempt has already run (waiting for a slot or a key) when the watchdog starts.
    init(limits: Limits, elapsed: Duration = .zero, eventLoop: any EventLoop, onTimeout: @escaping @Sendable (TimeoutPhase) -> Void) {
        self.limits = limits
        let start = eventLoop.now - TimeAmount(elapsed)
        self.start = start
        self.eventLoop = eventLoop
        self.onTimeout = onTimeout
        self.state = NIOLockedValueBox(State(lastActivity: start))
        self.check()
    }

    /// The phase whose deadline passed, if one did.
    var expiredPhase: TimeoutPhase? { self.state.withLockedValue { $0.expired } }

    func headersReceived() {
        let now = self.eventLoop.now
        self.state.withLockedValue { state in
            state.lastActivity = now
            guard case .awaitingHeaders = state.phase else { return }
            state.phase = .awaitingFirstToken(since: now)
            self.rearm(&state)
        }
    }

    func bytesReceived() {
        let now = self.eventLoop.now
        self.state.withLockedValue { $0.lastActivity = now }
    }

    func firstTokenReceived() {
        let now = self.eventLoop.now
        self.state.withLockedValue { state in
            state.lastActivity = now
            if case .streaming = state.phase { return }
            state.phase = .streaming
            self.rearm(&state)
        }
    }

    /// Disarms the timer; no timeout is reported after this returns.
    func stop() {
        self.state.withLockedValue { state in
            state.stopped = true
            state.timer?.cancel()
            state.timer = nil
        }
    }

    /// The earliest deadline in force, and the phase it belongs to.
    private func nextDeadline(_ state: State) -> (NIODeadline, TimeoutPhase)? {
        var next: (NIODeadline, TimeoutPhase)?
        func consider(_ deadline: NIODeadline, _ phase: TimeoutPhase) {
            if next == nil || deadline < next!.0 { next = (deadline, phase) }
        }
        if let total = self.limits.total { consider(self.start + TimeAmount(total), .total) }
        switch state.phase {
        case .awaitingHeaders:
            if let header = self.limits.header { consider(self.start + TimeAmount(header), .header) }
        case .awaitingFirstToken(let since):
            if let firstToken = self.limits.firstToken { consider(since + TimeAmount(firstToken), .firstToken) }
        case .streaming:
            if let idle = self.limits.idle { consider(state.lastActivity + TimeAmount(idle), .idle) }
        }
        return next
    }

    /// Replaces the armed timer with one for the current earliest deadline.
    /// Scheduling on an event loop never runs the task inline, so this may hold the lock.
    private func rearm(_ state: inout State) {
        state.timer?.cancel()
        state.timer = nil
        guard !state.stopped, state.expired == nil, let (deadline, _) = self.nextDeadline(state) else { return }
        state.timer = self.eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.check() }
    }

    /// Fires the timeout when a deadline has passed, otherwise re-arms for the next one.
    private func check() {
        let now = self.eventLoop.now
        let expired = self.state.withLockedValue { state -> TimeoutPhase? in
            guard !state.stopped, state.expired == nil else { return nil }
            if let (deadline, phase) = self.nextDeadline(state), deadline <= now {
                state.expired = phase
                state.timer = nil
                return phase
            }
            self.rearm(&state)
            return nil
        }
        if let expired { self.onTimeout(expired) }
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
