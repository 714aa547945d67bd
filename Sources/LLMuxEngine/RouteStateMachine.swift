import LLMuxConfig
import LLMuxRouting
import LLMuxUpstream
import LLMuxWire

/// Every routing decision of one request, as a value: which target to try
/// next, when to fall back, retry, wait for a cooldown, hedge, or read a key
/// anew, and how the request ends. Each input (start, first token, attempt
/// ended, timer fired, key refreshed, cancelled) returns the actions to run;
/// `RouteExecution` runs them and feeds the events back.
///
/// It does no I/O and reads no clock: every input carries `now`, so its
/// tests drive time by hand. The one shared object it consults is the
/// target health board (cooldowns and breakers learned from every request),
/// which also takes `now`: a claim or a report is part of the decision that
/// needs it (a fallback after a 429 reads the cooldown that report set).
///
/// Who won is decided by the `DeliveryGate`, which the attempts share: the
/// first to produce a token claims it from its own task, before any delta is
/// sent; the machine learns it from `firstToken` or claims the gate itself
/// for an attempt that finished without a token.
struct RouteStateMachine {
    typealias Instant = ContinuousClock.Instant

    /// How the request ended. Indirect: its payloads (an attempt's result, an error) are
    /// 400 bytes, which every `Action`, every `Outcome` and the machine itself would
    /// otherwise hold inline while the request runs.
    indirect enum Terminal: Sendable {
        case done(AttemptResult, target: RouteTarget)
        case failed(WireError, target: RouteTarget?, delivered: AttemptResult?)
        case cancelled(AttemptResult?, target: RouteTarget?)
    }

    struct Outcome: Sendable {
        var terminal: Terminal
        var attempts: [AttemptRecord]
    }

    /// A timer the machine asked for; `timerFired` brings it back.
    enum Timer: Hashable, Sendable {
        /// Start the next target beside the running one (the hedge strategy).
        case hedge
        /// Try `target` again (after a backoff, or once its cooldown ended); `serial` tells timers apart.
        case retry(RouteTarget, serial: Int)
    }

    enum Action {
        /// Start attempt `attempt` on `target`.
        case launch(attempt: Int, target: RouteTarget)
        /// Cancel the running attempts `attempts`; each still reports `attemptEnded`.
        case cancel(attempts: [Int])
        /// Call `timerFired(timer)` at `deadline`.
        case schedule(Timer, at: Instant)
        /// Forget `provider`'s cached key (its key command is run again), then call `keyRefreshed`.
        case refreshKey(provider: String)
        /// The request is over: nothing runs and nothing is pending.
        case finish(Outcome)
    }

    /// The route's rules for this request.
    struct Settings {
        var route: RouteConfig
        /// The request's total deadline; `nil` when it has none.
        var deadline: Instant?
        /// Providers whose key comes from a command, which a 401 may have made stale.
        var keyCommandProviders: Set<String>
        /// How often one request waits for a cooling target before giving up.
        var maxCooldownWaits = 1
        /// The longest wait for a cooling target when the request has no total deadline.
        var maxWaitWithoutDeadline: Duration = .seconds(60)
        /// The backoff's jitter: a factor in 0.5...1.0 (tests fix it).
        var jitter: () -> Double = { Double.random(in: 0.5...1.0) }
    }

    /// What to do after an attempt failed before its first token.
    private enum NextStep {
        case fatal(WireError)
        case fallback
        case retrySame(after: Duration)
        case refreshKeyAndRetry
    }

    private struct Running {
        var target: RouteTarget
        var start: Instant
    }

    /// A target passed over because it was cooling down (worth waiting for) or its breaker was open.
    private struct Skipped {
        var target: RouteTarget
        var until: Instant
        var rateLimited: Bool
    }

    private let settings: Settings
    private let board: TargetHealthBoard
    private let gate: DeliveryGate

    private var queue: [RouteTarget] = []
    private var skipped: [Skipped] = []
    private var running: [Int: Running] = [:]
    /// The attempts so far, as the terminal frame will list them.
    private(set) var attempts: [AttemptRecord] = []
    private var nextAttempt = 0
    private var winner: (attempt: Int, target: RouteTarget)?
    private var winnerResult: AttemptResult?
    /// Attempts cancelled because another one won.
    private var losers: Set<Int> = []
    private var lastError: (error: WireError, target: RouteTarget)?
    private var lastTarget: RouteTarget?
    private var retriesUsed: [RouteTarget: Int] = [:]
    private var refreshedKeys: Set<String> = []
    /// A key is being read anew; `keyRefreshed` follows.
    private var refreshing = false
    private var timers: Set<Timer> = []
    private var timerSerial = 0
    private var cooldownWaitsLeft: Int
    private var cancelled = false
    private var terminal: Terminal?
    private var finished = false

    init(settings: Settings, board: TargetHealthBoard, gate: DeliveryGate) {
        self.settings = settings
        self.board = board
        self.gate = gate
        self.cooldownWaitsLeft = settings.maxCooldownWaits
    }

    // MARK: Inputs

    /// Starts the request on `order`, the planned order of the route's targets.
    mutating func start(order: [RouteTarget], now: Instant) -> [Action] {
        var actions: [Action] = []
        self.queue = order
        if !self.launchNext(now: now, &actions) { self.exhausted(now: now, &actions) }
        return self.settle(actions, now: now)
    }

    /// Attempt `attempt` produced its first token at `at`: it won the delivery gate.
    mutating func firstToken(attempt: Int, at: Instant) -> [Action] {
        var actions: [Action] = []
        if let running = self.running[attempt] {
            self.winner = (attempt, running.target)
            self.board.report(.firstToken(ttft: at - running.start), for: running.target, now: at)
            self.cancelAll(except: attempt, &actions)
        }
        return self.settle(actions, now: at)
    }

    /// Attempt `attempt` ended with `result`.
    mutating func attemptEnded(attempt: Int, result: AttemptResult, now: Instant) -> [Action] {
        var actions: [Action] = []
        self.ended(attempt, result, now: now, &actions)
        return self.settle(actions, now: now)
    }

    /// A timer from a `schedule` action is due (or was cut short: it is acted on all the same).
    mutating func timerFired(_ timer: Timer, now: Instant) -> [Action] {
        var actions: [Action] = []
        guard self.timers.remove(timer) != nil else { return [] }
        let idle = self.terminal == nil && self.winner == nil && !self.cancelled
        switch timer {
        case .hedge:
            if idle { _ = self.launchNext(now: now, &actions) }
        case .retry(let target, _):
            if idle {
                self.queue.insert(target, at: 0)
                if self.running.isEmpty && !self.launchNext(now: now, &actions) && self.retryTimersPending == 0 {
                    self.exhausted(now: now, &actions)
                }
            }
        }
        return self.settle(actions, now: now)
    }

    /// The key asked for by `refreshKey` was forgotten: retry its target (queued first).
    mutating func keyRefreshed(now: Instant) -> [Action] {
        var actions: [Action] = []
        self.refreshing = false
        if !self.cancelled { self.continueAfterFailure(now: now, &actions) }
        return self.settle(actions, now: now)
    }

    /// The client cancelled the request (or the daemon is shutting down).
    mutating func cancelled(now: Instant) -> [Action] {
        guard !self.cancelled else { return [] }
        var actions: [Action] = []
        self.cancelled = true
        self.cancelAll(except: nil, &actions)
        return self.settle(actions, now: now)
    }

    // MARK: Decisions

    private var retryTimersPending: Int {
        self.timers.count(where: { if case .retry = $0 { return true } else { return false } })
    }

    /// Ends the input: a cancelled request with nothing left becomes `cancelled`; a terminal
    /// with nothing running becomes `finish` (once).
    private mutating func settle(_ actions: [Action], now: Instant) -> [Action] {
        var actions = actions
        guard !self.finished, self.running.isEmpty, !self.refreshing else { return actions }
        if self.terminal == nil && self.cancelled {
            self.terminal = .cancelled(self.winnerResult, target: self.winner?.target ?? self.lastTarget)
        }
        if self.terminal == nil && self.timers.isEmpty {
            // Every path that leaves nothing running sets a terminal or a timer: reaching this is a bug.
            assertionFailure("route state machine left with no attempt, timer or terminal")
            self.terminal = .failed(WireError(.internal, "the route coordinator ran out of work"), target: self.lastTarget, delivered: nil)
        }
        guard let terminal = self.terminal else { return actions }
        self.finished = true
        actions.append(.finish(Outcome(terminal: terminal, attempts: self.attempts)))
        return actions
    }

    private mutating func launch(_ target: RouteTarget, now: Instant, _ actions: inout [Action]) {
        let attempt = self.nextAttempt
        self.nextAttempt += 1
        self.running[attempt] = Running(target: target, start: now)
        self.lastTarget = target
        actions.append(.launch(attempt: attempt, target: target))
    }

    private mutating func schedule(_ timer: Timer, at instant: Instant, _ actions: inout [Action]) {
        self.timers.insert(timer)
        actions.append(.schedule(timer, at: instant))
    }

    private mutating func scheduleRetry(_ target: RouteTarget, at instant: Instant, _ actions: inout [Action]) {
        self.timerSerial += 1
        self.schedule(.retry(target, serial: self.timerSerial), at: instant, &actions)
    }

    /// Starts the next available target; `false` when none is left to start now.
    private mutating func launchNext(now: Instant, _ actions: inout [Action]) -> Bool {
        while !self.queue.isEmpty {
            let target = self.queue.removeFirst()
            switch self.board.claim(target, now: now) {
            case .available:
                self.launch(target, now: now, &actions)
                if case .hedge(let delayMs) = self.settings.route.strategy, !self.queue.isEmpty, !self.timers.contains(.hedge) {
                    self.schedule(.hedge, at: now + .milliseconds(delayMs), &actions)
                }
                return true
            case .coolingDown(let until):
                self.attempts.append(AttemptRecord(target: target.description, outcome: AttemptRecord.cooldown, ms: 0))
                self.skipped.append(Skipped(target: target, until: until, rateLimited: true))
            case .circuitOpen(let until):
                self.attempts.append(AttemptRecord(target: target.description, outcome: AttemptRecord.circuitOpen, ms: 0))
                self.skipped.append(Skipped(target: target, until: until, rateLimited: false))
            }
        }
        return false
    }

    /// Nothing runs and nothing is left to start: wait for a skipped target, or give up.
    private mutating func exhausted(now: Instant, _ actions: inout [Action]) {
        // Only a cooldown is worth waiting for; an open circuit breaker fails at once (protocol.md).
        let cooling = self.skipped.indices.filter { self.skipped[$0].rateLimited }
        if let soonest = cooling.min(by: { self.skipped[$0].until < self.skipped[$1].until }) {
            let entry = self.skipped[soonest]
            let limit = self.settings.deadline ?? (now + self.settings.maxWaitWithoutDeadline)
            if entry.until < limit && self.cooldownWaitsLeft > 0 {
                self.cooldownWaitsLeft -= 1
                self.skipped.remove(at: soonest)
                self.scheduleRetry(entry.target, at: entry.until, &actions)
                return
            }
        }
        // A pending hedge timer has nothing left to start either.
        self.timers.remove(.hedge)
        self.terminal = self.giveUp(now: now)
    }

    private func giveUp(now: Instant) -> Terminal {
        if let lastError = self.lastError { return .failed(lastError.error, target: lastError.target, delivered: nil) }
        let retryAfter = self.skipped.map { max(0, ($0.until - now).wholeMilliseconds) }.min()
        if self.skipped.contains(where: \.rateLimited) {
            let targets = self.skipped.filter(\.rateLimited).map(\.target.description).joined(separator: ", ")
            return .failed(
                WireError(
                    .rateLimited,
                    "every target is rate limited beyond this request's deadline (\(targets)); retry in \(retryAfter ?? 0) ms",
                    retryable: true,
                    retryAfterMs: retryAfter
                ),
                target: self.skipped.first?.target,
                delivered: nil
            )
        }
        let targets = self.skipped.map(\.target.description).joined(separator: ", ")
        return .failed(
            WireError(
                .circuitOpen,
                "every target's circuit breaker is open after repeated failures (\(targets)); retry in \(retryAfter ?? 0) ms",
                retryable: true,
                retryAfterMs: retryAfter
            ),
            target: self.skipped.first?.target,
            delivered: nil
        )
    }

    private mutating func cancelAll(except keep: Int?, _ actions: inout [Action]) {
        let cancelled = self.running.keys.filter { $0 != keep && !self.losers.contains($0) }.sorted()
        guard !cancelled.isEmpty else { return }
        if keep != nil || self.winner != nil { self.losers.formUnion(cancelled) }
        actions.append(.cancel(attempts: cancelled))
    }

    private mutating func ended(_ index: Int, _ result: AttemptResult, now: Instant, _ actions: inout [Action]) {
        guard let attempt = self.running.removeValue(forKey: index) else { return }
        let target = attempt.target
        let isWinner =
            self.winner?.attempt == index
            || (self.winner == nil && self.terminal == nil && result.outcome.isFinished && self.gate.claim(index))
        self.attempts.append(Self.record(result, target: target, winner: isWinner, lost: self.losers.contains(index) || result.lost))
        self.board.report(Self.healthReport(result, winner: isWinner), for: target, now: now)
        if isWinner {
            self.winner = (index, target)
            self.winnerResult = result
            self.cancelAll(except: nil, &actions)
            switch result.outcome {
            case .finished:
                self.terminal = .done(result, target: target)
            case .cancelled:
                self.terminal = .cancelled(result, target: target)
            case .failed, .timedOut:
                self.terminal = .failed(Self.interrupted(Self.wireError(result, target: target), result), target: target, delivered: result)
            }
            return
        }
        // The winner (or an attempt that just claimed the gate) will end the request.
        if self.terminal != nil || self.winner != nil || self.gate.current != nil { return }
        if self.cancelled {
            if self.running.isEmpty { self.terminal = .cancelled(nil, target: target) }
            return
        }
        switch self.nextStep(after: result, target: target, now: now) {
        case .fatal(let error):
            self.cancelAll(except: nil, &actions)
            self.terminal = .failed(error, target: target, delivered: nil)
        case .refreshKeyAndRetry:
            self.refreshedKeys.insert(target.provider)
            self.queue.insert(target, at: 0)
            self.refreshing = true
            actions.append(.refreshKey(provider: target.provider))
        case .retrySame(let delay):
            self.retriesUsed[target, default: 0] += 1
            self.lastError = (Self.wireError(result, target: target), target)
            self.scheduleRetry(target, at: now + delay, &actions)
        case .fallback:
            self.lastError = (Self.wireError(result, target: target), target)
            // A target that asked for a pause is worth waiting for when it is the last option.
            if case .coolingDown(let until) = self.board.availability(of: target, now: now) {
                self.skipped.append(Skipped(target: target, until: until, rateLimited: true))
            }
            self.continueAfterFailure(now: now, &actions)
        }
    }

    /// After a failure that did not end the request (or once a key was read anew): start the
    /// next target (a retried one is queued first), or give up when nothing can start.
    private mutating func continueAfterFailure(now: Instant, _ actions: inout [Action]) {
        if self.running.isEmpty && self.retryTimersPending == 0 && !self.launchNext(now: now, &actions) {
            self.exhausted(now: now, &actions)
        }
    }

    private func nextStep(after result: AttemptResult, target: RouteTarget, now: Instant) -> NextStep {
        let route = self.settings.route
        let retriesUsed = self.retriesUsed[target, default: 0]
        var mayRetrySame = true
        switch result.outcome {
        case .finished, .cancelled:
            return .fallback
        case .timedOut(let phase, _):
            if phase == .total { return .fatal(Self.wireError(result, target: target)) }
        case .failed(let error):
            switch error.code {
            case .http(let status):
                if status == 401, self.settings.keyCommandProviders.contains(target.provider), !self.refreshedKeys.contains(target.provider) {
                    return .refreshKeyAndRetry
                }
                guard route.fallbackStatuses.contains(status) else { return .fatal(error.wireError) }
                // A rate-limited target is in cooldown: the next target, or a wait, handles it.
                if status == 429 || error.retryAfterMs != nil { mayRetrySame = false }
            case .credentials:
                mayRetrySame = false
            case .connect, .streamError, .truncated, .protocolViolation, .timeout:
                break
            }
        }
        guard mayRetrySame, retriesUsed < route.retries else { return .fallback }
        // Exponential backoff with jitter: base * 2^n, scaled by a random 50-100 %.
        let base = Double(route.backoffMs) * Double(1 << min(retriesUsed, 16))
        let delay = Duration.milliseconds(Int(base * self.settings.jitter()))
        if let deadline = self.settings.deadline, now + delay >= deadline { return .fallback }
        return .retrySame(after: delay)
    }

    // MARK: Reading an attempt's result

    static func record(_ result: AttemptResult, target: RouteTarget, winner: Bool, lost: Bool) -> AttemptRecord {
        let ms = result.duration.wholeMilliseconds
        switch result.outcome {
        case .finished:
            return AttemptRecord(target: target.description, outcome: winner ? AttemptRecord.ok : AttemptRecord.hedgeLost, ms: ms)
        case .cancelled:
            return AttemptRecord(target: target.description, outcome: lost && !winner ? AttemptRecord.hedgeLost : AttemptRecord.cancelled, ms: ms)
        case .failed(let error):
            let code = result.delivered ? WireErrorCode.upstreamInterrupted : error.wireError.code
            var status: Int?
            if case .http(let s) = error.code { status = s }
            return AttemptRecord(target: target.description, outcome: code.rawValue, httpStatus: status, ms: ms)
        case .timedOut:
            var code = WireErrorCode.upstreamTimeout
            if result.delivered, case .timedOut(let phase, _) = result.outcome, phase != .total { code = .upstreamInterrupted }
            return AttemptRecord(target: target.description, outcome: code.rawValue, ms: ms)
        }
    }

    static func healthReport(_ result: AttemptResult, winner: Bool) -> TargetHealthBoard.Report {
        switch result.outcome {
        case .finished:
            return winner ? .success : .neutral
        case .cancelled:
            return .neutral
        case .timedOut(let phase, _):
            return phase == .total ? .neutral : .failure
        case .failed(let error):
            switch error.code {
            case .http(let status):
                if status == 429 || (error.retryAfterMs != nil && status >= 500) {
                    return .rateLimited(retryAfterMs: error.retryAfterMs ?? 0)
                }
                return status >= 500 || status == 408 ? .failure : .neutral
            case .credentials:
                return .neutral
            case .connect, .streamError, .truncated, .protocolViolation, .timeout:
                return .failure
            }
        }
    }

    /// The error a failed attempt reports to the client when it is the last one.
    static func wireError(_ result: AttemptResult, target: RouteTarget) -> WireError {
        switch result.outcome {
        case .failed(let error):
            return error.wireError
        case .timedOut(let phase, let message):
            return UpstreamError(.timeout(phase: phase), message).wireError
        case .finished, .cancelled:
            return WireError(.internal, "attempt on \(target) ended without an error")
        }
    }

    /// A failure after deltas were delivered. The request's own total time
    /// limit stays `upstream_timeout`; every upstream failure becomes `upstream_interrupted`.
    static func interrupted(_ cause: WireError, _ result: AttemptResult) -> WireError {
        var error = cause
        if case .timedOut(.total, _) = result.outcome {
            error.message += " (after \(result.deltas) deltas)"
        } else {
            error = WireError(
                .upstreamInterrupted,
                "the upstream failed after \(result.deltas) deltas were delivered: \(cause.message)",
                retryable: cause.retryable
            )
            error.cause = cause.code
        }
        error.partial = true
        return error
    }
}

extension AttemptResult.Outcome {
    var isFinished: Bool {
        if case .finished = self { return true }
        return false
    }
}
