import LLMuxConfig
import LLMuxRouting
import LLMuxUpstream
import LLMuxWire
import Logging
import Synchronization

/// Runs one request over its route: tries targets in the planned order,
/// skips targets in cooldown or with an open breaker, falls back on failures
/// before the first token, retries a target with backoff when the route
/// allows, hedges when the strategy says so, and waits for a cooling target
/// when it is the last option and the wait fits the deadline.
///
/// Every attempt is a child task; the coordinator reacts to their events.
/// Only the attempt that wins the `DeliveryGate` sends deltas.
struct RouteExecution: Sendable {
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

    private enum Event: Sendable {
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

    func run(order: [RouteTarget]) async -> Outcome {
        let mailbox = EventMailbox<Event>()
        let route = self.plan.route
        var queue = order
        var skipped: [(target: RouteTarget, until: ContinuousClock.Instant, rateLimited: Bool)] = []
        var running: [Int: Running] = [:]
        var attempts: [AttemptRecord] = []
        var nextIndex = 0
        var winner: (index: Int, target: RouteTarget)?
        var losers: Set<Int> = []
        var lastError: (error: WireError, target: RouteTarget)?
        var lastTarget: RouteTarget?
        var retriesUsed: [RouteTarget: Int] = [:]
        var refreshedKeys: Set<String> = []
        var timersPending = 0
        var hedgeTimerPending = false
        var cooldownWaitsLeft = Self.maxCooldownWaits
        var terminal: Terminal?
        var winnerResult: AttemptResult?

        return await withDiscardingTaskGroup(returning: Outcome.self) { group in
            func launch(_ target: RouteTarget) {
                let index = nextIndex
                nextIndex += 1
                let signal = RequestCancellation()
                running[index] = Running(target: target, signal: signal, start: .now)
                lastTarget = target
                let provider = self.config.providers[target.provider]!
                let limits = self.config.timeouts.resolved(
                    route: self.plan.routeName == nil ? nil : route.timeouts,
                    provider: provider.timeouts,
                    requestTotalMs: self.shared.request.timeoutMs
                )
                var attemptLogger = self.logger
                attemptLogger[metadataKey: "provider"] = "\(target.provider)"
                attemptLogger[metadataKey: "model"] = "\(target.upstreamModel)"
                let logger = attemptLogger
                let runner = self.runner
                let shared = self.shared
                group.addTask {
                    let box = Mutex<AttemptResult?>(nil)
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
                        box.withLock { $0 = result }
                    }
                    mailbox.post(.ended(index: index, box.withLock { $0 } ?? AttemptResult()))
                }
            }

            func schedule(_ event: Event, at instant: ContinuousClock.Instant) {
                timersPending += 1
                group.addTask {
                    try? await Task.sleep(until: instant, clock: .continuous)
                    mailbox.post(event)
                }
            }

            /// Starts the next available target; `false` when none is left to start now.
            func launchNext() -> Bool {
                while !queue.isEmpty {
                    let target = queue.removeFirst()
                    switch self.board.claim(target) {
                    case .available:
                        launch(target)
                        if case .hedge(let delayMs) = route.strategy, !queue.isEmpty, !hedgeTimerPending {
                            hedgeTimerPending = true
                            schedule(.hedgeDue, at: .now + .milliseconds(delayMs))
                        }
                        return true
                    case .coolingDown(let until):
                        attempts.append(AttemptRecord(target: target.description, outcome: AttemptRecord.cooldown, ms: 0))
                        skipped.append((target, until, true))
                    case .circuitOpen(let until):
                        attempts.append(AttemptRecord(target: target.description, outcome: AttemptRecord.circuitOpen, ms: 0))
                        skipped.append((target, until, false))
                    }
                }
                return false
            }

            /// Nothing runs and nothing is left to start: wait for a skipped target, or give up.
            func exhausted() -> Terminal? {
                let now = ContinuousClock.now
                // Only a cooldown is worth waiting for; an open circuit breaker fails at once (protocol.md).
                let cooling = skipped.indices.filter { skipped[$0].rateLimited }
                if let soonest = cooling.min(by: { skipped[$0].until < skipped[$1].until }) {
                    let entry = skipped[soonest]
                    let limit = self.shared.deadline ?? (now + Self.maxWaitWithoutDeadline)
                    if entry.until < limit && cooldownWaitsLeft > 0 {
                        cooldownWaitsLeft -= 1
                        skipped.remove(at: soonest)
                        schedule(.retryDue(entry.target), at: entry.until)
                        return nil
                    }
                }
                if let lastError { return .failed(lastError.error, target: lastError.target, delivered: nil) }
                let waits = skipped.map { max(0, ($0.until - now).wholeMilliseconds) }
                let retryAfter = waits.min()
                if skipped.contains(where: \.rateLimited) {
                    let targets = skipped.filter(\.rateLimited).map(\.target.description).joined(separator: ", ")
                    return .failed(
                        WireError(
                            .rateLimited,
                            "every target is rate limited beyond this request's deadline (\(targets)); retry in \(retryAfter ?? 0) ms",
                            retryable: true,
                            retryAfterMs: retryAfter
                        ),
                        target: skipped.first?.target,
                        delivered: nil
                    )
                }
                let targets = skipped.map(\.target.description).joined(separator: ", ")
                return .failed(
                    WireError(
                        .circuitOpen,
                        "every target's circuit breaker is open after repeated failures (\(targets)); retry in \(retryAfter ?? 0) ms",
                        retryable: true,
                        retryAfterMs: retryAfter
                    ),
                    target: skipped.first?.target,
                    delivered: nil
                )
            }

            func cancelAll(except keep: Int? = nil) {
                for (index, attempt) in running where index != keep {
                    losers.insert(index)
                    attempt.signal.cancel()
                }
            }

            if !launchNext() { terminal = exhausted() }

            while terminal == nil || !running.isEmpty {
                if terminal == nil && Task.isCancelled && running.isEmpty {
                    terminal = .cancelled(winnerResult, target: winner?.target ?? lastTarget)
                    break
                }
                if terminal == nil && running.isEmpty && timersPending == 0 && !hedgeTimerPending {
                    // Nothing can produce another event.
                    terminal = .failed(WireError(.internal, "the route coordinator ran out of work"), target: lastTarget, delivered: nil)
                    break
                }
                let event = await mailbox.next()
                switch event {
                case .firstToken(let index, let at):
                    guard let attempt = running[index] else { continue }
                    winner = (index, attempt.target)
                    self.board.report(.firstToken(ttft: at - attempt.start), for: attempt.target)
                    cancelAll(except: index)

                case .hedgeDue:
                    hedgeTimerPending = false
                    if terminal == nil && winner == nil && !Task.isCancelled { _ = launchNext() }

                case .retryDue(let target):
                    timersPending -= 1
                    if terminal == nil && winner == nil && !Task.isCancelled {
                        queue.insert(target, at: 0)
                        if running.isEmpty && !launchNext() && timersPending == 0 { terminal = exhausted() }
                    }

                case .ended(let index, let result):
                    guard let attempt = running.removeValue(forKey: index) else { continue }
                    let target = attempt.target
                    let isWinner = winner?.index == index
                        || (winner == nil && terminal == nil && result.outcome.isFinished && self.shared.gate.claim(index))
                    attempts.append(self.record(result, target: target, winner: isWinner, lost: losers.contains(index) || result.lost))
                    self.board.report(self.healthReport(result, winner: isWinner), for: target)
                    if isWinner {
                        winner = (index, target)
                        winnerResult = result
                        cancelAll()
                        switch result.outcome {
                        case .finished:
                            terminal = .done(result, target: target)
                        case .cancelled:
                            terminal = .cancelled(result, target: target)
                        case .failed, .timedOut:
                            terminal = .failed(self.interrupted(self.wireError(result, target: target), result), target: target, delivered: result)
                        }
                        continue
                    }
                    if terminal != nil || winner != nil || self.shared.gate.current != nil { continue }
                    if Task.isCancelled {
                        if running.isEmpty { terminal = .cancelled(nil, target: target) }
                        continue
                    }
                    switch self.nextStep(after: result, target: target, route: route, retriesUsed: retriesUsed[target, default: 0], refreshedKeys: refreshedKeys) {
                    case .fatal(let error):
                        cancelAll()
                        terminal = .failed(error, target: target, delivered: nil)
                        continue
                    case .refreshKeyAndRetry:
                        refreshedKeys.insert(target.provider)
                        await self.credentials.forget(provider: target.provider)
                        queue.insert(target, at: 0)
                    case .retrySame(let delay):
                        retriesUsed[target, default: 0] += 1
                        lastError = (self.wireError(result, target: target), target)
                        schedule(.retryDue(target), at: .now + delay)
                        continue
                    case .fallback:
                        lastError = (self.wireError(result, target: target), target)
                        // A target that asked for a pause is worth waiting for when it is the last option.
                        if case .coolingDown(let until) = self.board.availability(of: target) {
                            skipped.append((target, until, true))
                        }
                    }
                    if running.isEmpty && timersPending == 0 && !launchNext() {
                        // In hedge mode a pending hedge timer has nothing left to start either.
                        hedgeTimerPending = false
                        terminal = exhausted()
                    }
                }
            }
            group.cancelAll()
            return Outcome(terminal: terminal!, attempts: attempts)
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
        retriesUsed: Int,
        refreshedKeys: Set<String>
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
                if status == 401, case .command = self.config.providers[target.provider]?.keySource, !refreshedKeys.contains(target.provider) {
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
