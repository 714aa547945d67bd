import LLMuxConfig
import LLMuxRouting
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOConcurrencyHelpers

/// Runs one request over its route: tries targets in the planned order,
/// skips targets in cooldown or with an open breaker, falls back on failures
/// before the first token, retries a target with backoff when the route
/// allows, hedges when the strategy says so, and waits for a cooling target
/// when it is the last option and the wait fits the deadline.
///
/// Every attempt is a child task; the coordinator reacts to their events.
/// Only the attempt that wins the `DeliveryGate` sends deltas.
///
/// One instance serves one request, inside that request's task: its state is
/// only touched there (it is not `Sendable`). The async part of `run` is a
/// short loop that waits for the next event; everything it decides is in
/// synchronous methods, so the suspended request keeps a small async frame
/// (every temporary of a large async function lives in its frame for the
/// whole request: 16.7 KB per request when this was one function).
final class RouteExecution {
    /// How the request ended.
    enum Terminal: Sendable {
        case done(AttemptResult, target: RouteTarget)
        case failed(WireError, target: RouteTarget?, delivered: AttemptResult?)
        case cancelled(AttemptResult?, target: RouteTarget?)
    }

    struct Outcome: Sendable {
        var terminal: Terminal
        var attempts: [AttemptRecord]
    }

    fileprivate enum Event: Sendable {
        case firstToken(index: Int, at: ContinuousClock.Instant)
        case ended(index: Int, AttemptResult)
        case hedgeDue
        case retryDue(RouteTarget)
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
        var signal: RequestCancellation
        var start: ContinuousClock.Instant
    }

    private struct Skipped {
        var target: RouteTarget
        var until: ContinuousClock.Instant
        var rateLimited: Bool
    }

    let plan: RoutePlan
    let config: DaemonConfig
    let board: TargetHealthBoard
    let runner: AttemptRunner
    let credentials: CredentialResolver
    let shared: AttemptRunner.Shared
    let logger: Logger

    /// How often one request waits for a cooling target before giving up.
    static let maxCooldownWaits = 1
    /// The longest wait for a cooling target when the request has no total deadline.
    static let maxWaitWithoutDeadline: Duration = .seconds(60)

    private let mailbox = EventMailbox<Event>()
    private var queue: [RouteTarget] = []
    private var skipped: [Skipped] = []
    private var running: [Int: Running] = [:]
    private var attempts: [AttemptRecord] = []
    private var nextIndex = 0
    private var winner: (index: Int, target: RouteTarget)?
    private var losers: Set<Int> = []
    private var lastError: (error: WireError, target: RouteTarget)?
    private var lastTarget: RouteTarget?
    private var retriesUsed: [RouteTarget: Int] = [:]
    private var refreshedKeys: Set<String> = []
    private var timersPending = 0
    private var hedgeTimerPending = false
    private var cooldownWaitsLeft = RouteExecution.maxCooldownWaits
    private var terminal: Terminal?
    private var winnerResult: AttemptResult?

    init(
        plan: RoutePlan,
        config: DaemonConfig,
        board: TargetHealthBoard,
        runner: AttemptRunner,
        credentials: CredentialResolver,
        shared: AttemptRunner.Shared,
        logger: Logger
    ) {
        self.plan = plan
        self.config = config
        self.board = board
        self.runner = runner
        self.credentials = credentials
        self.shared = shared
        self.logger = logger
    }

    /// Runs the request once; `order` is the planned order of the route's targets.
    func run(order: [RouteTarget]) async -> Outcome {
        self.queue = order
        return await withDiscardingTaskGroup(returning: Outcome.self) { group in
            if !self.launchNext(&group) { self.terminal = self.exhausted(&group) }
            while self.shouldWait() {
                let event = await self.mailbox.next()
                if let provider = self.handle(event, &group) {
                    // A rejected key from a key command: read it anew, then retry the target.
                    await self.credentials.forget(provider: provider)
                    self.continueAfterFailure(&group)
                }
            }
            group.cancelAll()
            return Outcome(terminal: self.terminal!, attempts: self.attempts)
        }
    }

    /// Whether another event is needed; sets the terminal when nothing can produce one.
    @inline(never)
    private func shouldWait() -> Bool {
        guard self.terminal == nil || !self.running.isEmpty else { return false }
        if self.terminal == nil && Task.isCancelled && self.running.isEmpty {
            self.terminal = .cancelled(self.winnerResult, target: self.winner?.target ?? self.lastTarget)
            return false
        }
        if self.terminal == nil && self.running.isEmpty && self.timersPending == 0 && !self.hedgeTimerPending {
            // Nothing can produce another event.
            self.terminal = .failed(WireError(.internal, "the route coordinator ran out of work"), target: self.lastTarget, delivered: nil)
            return false
        }
        return true
    }

    private func launch(_ target: RouteTarget, _ group: inout DiscardingTaskGroup) {
        let index = self.nextIndex
        self.nextIndex += 1
        let signal = RequestCancellation()
        self.running[index] = Running(target: target, signal: signal, start: .now)
        self.lastTarget = target
        let provider = self.config.providers[target.provider]!
        let limits = self.config.timeouts.resolved(
            route: self.plan.routeName == nil ? nil : self.plan.route.timeouts,
            provider: provider.timeouts,
            requestTotalMs: self.shared.request.timeoutMs
        )
        var attemptLogger = self.logger
        attemptLogger[metadataKey: "provider"] = "\(target.provider)"
        attemptLogger[metadataKey: "model"] = "\(target.upstreamModel)"
        let logger = attemptLogger
        let runner = self.runner
        let shared = self.shared
        let mailbox = self.mailbox
        group.addTask {
            let box = NIOLockedValueBox<AttemptResult?>(nil)
            await signal.run {
                let result = await runner.run(
                    index: index,
                    target: target,
                    provider: provider,
                    limits: limits,
                    shared: shared,
                    cancellation: signal,
                    logger: logger,
                    onFirstToken: { at in mailbox.post(.firstToken(index: index, at: at)) }
                )
                box.withLockedValue { $0 = result }
            }
            mailbox.post(.ended(index: index, box.withLockedValue { $0 } ?? AttemptResult()))
        }
    }

    /// Posts `event` at `instant`. Retry timers are counted in `timersPending`
    /// by their callers; the hedge timer in `hedgeTimerPending`.
    private func schedule(_ event: Event, at instant: ContinuousClock.Instant, _ group: inout DiscardingTaskGroup) {
        let mailbox = self.mailbox
        group.addTask {
            try? await Task.sleep(until: instant, clock: .continuous)
            mailbox.post(event)
        }
    }

    /// Starts the next available target; `false` when none is left to start now.
    private func launchNext(_ group: inout DiscardingTaskGroup) -> Bool {
        while !self.queue.isEmpty {
            let target = self.queue.removeFirst()
            switch self.board.claim(target) {
            case .available:
                self.launch(target, &group)
                if case .hedge(let delayMs) = self.plan.route.strategy, !self.queue.isEmpty, !self.hedgeTimerPending {
                    self.hedgeTimerPending = true
                    self.schedule(.hedgeDue, at: .now + .milliseconds(delayMs), &group)
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
    private func exhausted(_ group: inout DiscardingTaskGroup) -> Terminal? {
        let now = ContinuousClock.now
        // Only a cooldown is worth waiting for; an open circuit breaker fails at once (protocol.md).
        let cooling = self.skipped.indices.filter { self.skipped[$0].rateLimited }
        if let soonest = cooling.min(by: { self.skipped[$0].until < self.skipped[$1].until }) {
            let entry = self.skipped[soonest]
            let limit = self.shared.deadline ?? (now + Self.maxWaitWithoutDeadline)
            if entry.until < limit && self.cooldownWaitsLeft > 0 {
                self.cooldownWaitsLeft -= 1
                self.skipped.remove(at: soonest)
                self.timersPending += 1
                self.schedule(.retryDue(entry.target), at: entry.until, &group)
                return nil
            }
        }
        if let lastError = self.lastError { return .failed(lastError.error, target: lastError.target, delivered: nil) }
        let waits = self.skipped.map { max(0, ($0.until - now).wholeMilliseconds) }
        let retryAfter = waits.min()
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

    private func cancelAll(except keep: Int? = nil) {
        for (index, attempt) in self.running where index != keep {
            self.losers.insert(index)
            attempt.signal.cancel()
        }
    }

    /// Reacts to one event. Returns a provider whose key must be read anew
    /// before its target is retried (then call `continueAfterFailure`).
    @inline(never)
    private func handle(_ event: Event, _ group: inout DiscardingTaskGroup) -> String? {
        switch event {
        case .firstToken(let index, let at):
            guard let attempt = self.running[index] else { return nil }
            self.winner = (index, attempt.target)
            self.board.report(.firstToken(ttft: at - attempt.start), for: attempt.target)
            self.cancelAll(except: index)

        case .hedgeDue:
            self.hedgeTimerPending = false
            if self.terminal == nil && self.winner == nil && !Task.isCancelled { _ = self.launchNext(&group) }

        case .retryDue(let target):
            self.timersPending -= 1
            if self.terminal == nil && self.winner == nil && !Task.isCancelled {
                self.queue.insert(target, at: 0)
                if self.running.isEmpty && !self.launchNext(&group) && self.timersPending == 0 { self.terminal = self.exhausted(&group) }
            }

        case .ended(let index, let result):
            return self.ended(index, result, &group)
        }
        return nil
    }

    private func ended(_ index: Int, _ result: AttemptResult, _ group: inout DiscardingTaskGroup) -> String? {
        guard let attempt = self.running.removeValue(forKey: index) else { return nil }
        let target = attempt.target
        let isWinner =
            self.winner?.index == index
            || (self.winner == nil && self.terminal == nil && result.outcome.isFinished && self.shared.gate.claim(index))
        self.attempts.append(self.record(result, target: target, winner: isWinner, lost: self.losers.contains(index) || result.lost))
        self.board.report(self.healthReport(result, winner: isWinner), for: target)
        if isWinner {
            self.winner = (index, target)
            self.winnerResult = result
            self.cancelAll()
            switch result.outcome {
            case .finished:
                self.terminal = .done(result, target: target)
            case .cancelled:
                self.terminal = .cancelled(result, target: target)
            case .failed, .timedOut:
                self.terminal = .failed(self.interrupted(self.wireError(result, target: target), result), target: target, delivered: result)
            }
            return nil
        }
        if self.terminal != nil || self.winner != nil || self.shared.gate.current != nil { return nil }
        if Task.isCancelled {
            if self.running.isEmpty { self.terminal = .cancelled(nil, target: target) }
            return nil
        }
        switch self.nextStep(after: result, target: target, route: self.plan.route, retriesUsed: self.retriesUsed[target, default: 0]) {
        case .fatal(let error):
            self.cancelAll()
            self.terminal = .failed(error, target: target, delivered: nil)
            return nil
        case .refreshKeyAndRetry:
            self.refreshedKeys.insert(target.provider)
            self.queue.insert(target, at: 0)
            return target.provider
        case .retrySame(let delay):
            self.retriesUsed[target, default: 0] += 1
            self.lastError = (self.wireError(result, target: target), target)
            self.timersPending += 1
            self.schedule(.retryDue(target), at: .now + delay, &group)
            return nil
        case .fallback:
            self.lastError = (self.wireError(result, target: target), target)
            // A target that asked for a pause is worth waiting for when it is the last option.
            if case .coolingDown(let until) = self.board.availability(of: target) {
                self.skipped.append(Skipped(target: target, until: until, rateLimited: true))
            }
        }
        self.continueAfterFailure(&group)
        return nil
    }

    /// After a failure that did not end the request (or once a key was read anew): start the
    /// next target (a retried one is queued first), or give up when nothing can start.
    @inline(never)
    private func continueAfterFailure(_ group: inout DiscardingTaskGroup) {
        if self.running.isEmpty && self.timersPending == 0 && !self.launchNext(&group) {
            // In hedge mode a pending hedge timer has nothing left to start either.
            self.hedgeTimerPending = false
            self.terminal = self.exhausted(&group)
        }
    }

    private func record(_ result: AttemptResult, target: RouteTarget, winner: Bool, lost: Bool) -> AttemptRecord {
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

    private func healthReport(_ result: AttemptResult, winner: Bool) -> TargetHealthBoard.Report {
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

    private func nextStep(
        after result: AttemptResult,
        target: RouteTarget,
        route: RouteConfig,
        retriesUsed: Int
    ) -> NextStep {
        var mayRetrySame = true
        switch result.outcome {
        case .finished, .cancelled:
            return .fallback
        case .timedOut(let phase, _):
            if phase == .total { return .fatal(self.wireError(result, target: target)) }
        case .failed(let error):
            switch error.code {
            case .http(let status):
                if status == 401, case .command = self.config.providers[target.provider]?.keySource, !self.refreshedKeys.contains(target.provider) {
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
        let delay = Duration.milliseconds(Int(base * Double.random(in: 0.5...1.0)))
        if let deadline = self.shared.deadline, ContinuousClock.now + delay >= deadline { return .fallback }
        return .retrySame(after: delay)
    }

    /// The error a failed attempt reports to the client when it is the last one.
    private func wireError(_ result: AttemptResult, target: RouteTarget) -> WireError {
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
    private func interrupted(_ cause: WireError, _ result: AttemptResult) -> WireError {
        var error = cause
        if case .timedOut(.total, _) = result.outcome {
            error.message += " (after \(result.nextSeq) deltas)"
        } else {
            error = WireError(
                .upstreamInterrupted,
                "the upstream failed after \(result.nextSeq) deltas were delivered: \(cause.message)",
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
