import LLMuxConfig
@testable import LLMuxEngine
import LLMuxRouting
import LLMuxUpstream
import LLMuxWire
import Testing

/// The route state machine on its own: every input is a call with an
/// explicit `now`, every answer a list of actions, written out as text
/// ("launch 1 p/b", "schedule retry(p/a) +100ms", "finish done p/b"). No
/// I/O, no clock, no sleeps.
@Suite("Route state machine")
struct RouteStateMachineTests {
    static let a = RouteTarget(provider: "p", upstreamModel: "a")
    static let b = RouteTarget(provider: "p", upstreamModel: "b")
    static let k = RouteTarget(provider: "keyed", upstreamModel: "k")
    let t0 = ContinuousClock.now

    /// One machine with its board and gate, and the instant every description is relative to.
    struct Harness {
        var machine: RouteStateMachine
        let board: TargetHealthBoard
        let gate: DeliveryGate
        let t0: ContinuousClock.Instant

        func at(_ ms: Int) -> ContinuousClock.Instant { self.t0 + .milliseconds(ms) }

        mutating func start(_ order: [RouteTarget], at ms: Int = 0) -> [String] {
            self.describe(self.machine.start(order: order, now: self.at(ms)))
        }

        mutating func ended(_ attempt: Int, _ result: AttemptResult, at ms: Int = 0) -> [String] {
            self.describe(self.machine.attemptEnded(attempt: attempt, result: result, now: self.at(ms)))
        }

        /// Attempt `attempt` produced a token: it claims the gate first, as `AttemptRunner` does.
        mutating func firstToken(_ attempt: Int, at ms: Int = 0) -> [String] {
            #expect(self.gate.claim(attempt))
            return self.describe(self.machine.firstToken(attempt: attempt, at: self.at(ms)))
        }

        mutating func fire(_ timer: RouteStateMachine.Timer, at ms: Int) -> [String] {
            self.describe(self.machine.timerFired(timer, now: self.at(ms)))
        }

        mutating func cancelled(at ms: Int = 0) -> [String] {
            self.describe(self.machine.cancelled(now: self.at(ms)))
        }

        mutating func keyRefreshed(at ms: Int = 0) -> [String] {
            self.describe(self.machine.keyRefreshed(now: self.at(ms)))
        }

        /// The last `finish` action's outcome, kept by `describe`.
        var outcome: RouteStateMachine.Outcome? { self.finished.value }
        private let finished = Box()

        final class Box {
            var value: RouteStateMachine.Outcome?
        }

        func describe(_ actions: [RouteStateMachine.Action]) -> [String] {
            actions.map { action in
                switch action {
                case .launch(let attempt, let target):
                    return "launch \(attempt) \(target)"
                case .cancel(let attempts):
                    return "cancel \(attempts)"
                case .schedule(let timer, let instant):
                    let ms = (instant - self.t0).wholeMilliseconds
                    switch timer {
                    case .hedge: return "schedule hedge +\(ms)ms"
                    case .retry(let target, _): return "schedule retry(\(target)) +\(ms)ms"
                    }
                case .refreshKey(let provider):
                    return "refresh key \(provider)"
                case .finish(let outcome):
                    self.finished.value = outcome
                    switch outcome.terminal {
                    case .done(_, let target): return "finish done \(target)"
                    case .cancelled(_, let target): return "finish cancelled \(target.map(\.description) ?? "-")"
                    case .failed(let error, let target, _): return "finish failed \(error.code.rawValue) \(target.map(\.description) ?? "-")"
                    }
                }
            }
        }

        var records: [String] {
            (self.outcome?.attempts ?? []).map { record in
                "\(record.target):\(record.outcome)" + (record.httpStatus.map { "(\($0))" } ?? "")
            }
        }

        /// The timer a `schedule retry` action asked for (its serial is the machine's business).
        func retryTimer(_ target: RouteTarget, serial: Int) -> RouteStateMachine.Timer {
            .retry(target, serial: serial)
        }
    }

    func harness(
        route: RouteConfig = RouteConfig(name: "r", targets: [a, b]),
        deadlineMs: Int? = nil,
        router: RouterConfig = RouterConfig(),
        on shared: TargetHealthBoard? = nil
    ) -> Harness {
        let board = shared ?? TargetHealthBoard(settings: router)
        let gate = DeliveryGate()
        var settings = RouteStateMachine.Settings(
            route: route,
            deadline: deadlineMs.map { self.t0 + .milliseconds($0) },
            keyCommandProviders: ["keyed"]
        )
        settings.jitter = { 1.0 }
        return Harness(machine: RouteStateMachine(settings: settings, board: board, gate: gate), board: board, gate: gate, t0: self.t0)
    }

    static func failed(_ code: UpstreamError.Code, retryAfterMs: Int? = nil) -> AttemptResult {
        var result = AttemptResult()
        result.outcome = .failed(UpstreamError(code, "failure \(code)", retryAfterMs: retryAfterMs))
        return result
    }

    static func timedOut(_ phase: TimeoutPhase) -> AttemptResult {
        var result = AttemptResult()
        result.outcome = .timedOut(phase, message: "\(phase) passed")
        return result
    }

    static func finished(deltas: Int = 1) -> AttemptResult {
        var result = AttemptResult()
        result.outcome = .finished
        result.deltas = deltas
        result.complete = true
        return result
    }

    static let cancelled = AttemptResult()

    // MARK: Fallback

    static let fallbackTriggers: [(AttemptResult, String)] =
        RouteConfig.defaultFallbackStatuses.sorted().map { (failed(.http(status: $0)), "p/a:upstream_http(\($0))") } + [
            (failed(.connect), "p/a:upstream_connect"),
            (failed(.streamError), "p/a:upstream_error"),
            (failed(.truncated), "p/a:upstream_truncated"),
            (failed(.protocolViolation), "p/a:upstream_protocol"),
            (failed(.credentials), "p/a:auth_failed"),
            (timedOut(.header), "p/a:upstream_timeout"),
            (timedOut(.firstToken), "p/a:upstream_timeout"),
            (timedOut(.idle), "p/a:upstream_timeout"),
        ]

    @Test(arguments: fallbackTriggers)
    func eachTriggerBeforeTheFirstTokenFallsBack(_ result: AttemptResult, _ record: String) {
        var h = self.harness()
        #expect(h.start([Self.a, Self.b]) == ["launch 0 p/a"])
        #expect(h.ended(0, result, at: 10) == ["launch 1 p/b"])
        #expect(h.firstToken(1, at: 20) == [])
        #expect(h.ended(1, Self.finished(), at: 30) == ["finish done p/b"])
        #expect(h.records == [record, "p/b:ok"])
    }

    @Test(arguments: [400, 401, 403, 404, 413, 422])
    func otherStatusesEndTheRequestAtOnce(_ status: Int) {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        let code = status == 401 || status == 403 ? "auth_failed" : "upstream_http"
        #expect(h.ended(0, Self.failed(.http(status: status))) == ["finish failed \(code) p/a"])
        #expect(h.records == ["p/a:\(code)(\(status))"])
    }

    @Test func theFallbackStatusesAreTheRoutes() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], fallbackStatuses: [418]))
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.http(status: 418))) == ["launch 1 p/b"])
        #expect(h.ended(1, Self.failed(.http(status: 500))) == ["finish failed upstream_http p/b"])
    }

    @Test func theRequestsTotalLimitEndsItWithoutFallback() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.timedOut(.total)) == ["finish failed upstream_timeout p/a"])
    }

    @Test func everyTargetFailingGivesTheLastErrorWithEveryAttempt() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        _ = h.ended(0, Self.failed(.http(status: 503)))
        #expect(h.ended(1, Self.failed(.connect)) == ["finish failed upstream_connect p/b"])
        #expect(h.records == ["p/a:upstream_http(503)", "p/b:upstream_connect"])
    }

    @Test func anAttemptThatFinishesWithoutATokenWins() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.finished(deltas: 0)) == ["finish done p/a"])
        #expect(h.gate.current == 0)
    }

    @Test func aFailureAfterDeltasIsInterruptedAndPartial() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        _ = h.firstToken(0)
        var result = Self.failed(.truncated)
        result.deltas = 3
        #expect(h.ended(0, result) == ["finish failed upstream_interrupted p/a"])
        guard case .failed(let error, _, let delivered)? = h.outcome?.terminal else {
            Issue.record("no failure")
            return
        }
        #expect(error.partial == true)
        #expect(error.cause == .upstreamTruncated)
        #expect(delivered?.deltas == 3)
        #expect(h.records == ["p/a:upstream_interrupted"])
    }

    // MARK: Retries on one target

    @Test func retriesBackOffExponentiallyThenFallBack() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], retries: 2, backoffMs: 100))
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.http(status: 500)), at: 5) == ["schedule retry(p/a) +105ms"])
        #expect(h.fire(h.retryTimer(Self.a, serial: 1), at: 105) == ["launch 1 p/a"])
        #expect(h.ended(1, Self.failed(.http(status: 500)), at: 110) == ["schedule retry(p/a) +310ms"])
        #expect(h.fire(h.retryTimer(Self.a, serial: 2), at: 310) == ["launch 2 p/a"])
        #expect(h.ended(2, Self.failed(.http(status: 500)), at: 320) == ["launch 3 p/b"])
    }

    @Test func aRetryThatWouldPassTheDeadlineFallsBackInstead() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], retries: 3, backoffMs: 500), deadlineMs: 400)
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.connect), at: 10) == ["launch 1 p/b"])
    }

    @Test func aRateLimitedTargetIsNotRetriedInPlace() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], retries: 3))
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.http(status: 429), retryAfterMs: 100)) == ["launch 1 p/b"])
    }

    // MARK: Cooldowns

    @Test func aCoolingLastTargetIsWaitedForOnce() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a]))
        _ = h.start([Self.a])
        #expect(h.ended(0, Self.failed(.http(status: 429), retryAfterMs: 2_000), at: 10) == ["schedule retry(p/a) +2010ms"])
        #expect(h.fire(h.retryTimer(Self.a, serial: 1), at: 2_010) == ["launch 1 p/a"])
        // A second 429 is not waited for again: the request gets the upstream's answer.
        #expect(h.ended(1, Self.failed(.http(status: 429), retryAfterMs: 2_000), at: 2_020) == ["finish failed upstream_http p/a"])
    }

    @Test func aCooldownBeyondTheDeadlineIsRateLimitedWithItsWait() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a]), deadlineMs: 1_000)
        h.board.report(.rateLimited(retryAfterMs: 5_000), for: Self.a, now: h.t0)
        #expect(h.start([Self.a]) == ["finish failed rate_limited p/a"])
        guard case .failed(let error, _, _)? = h.outcome?.terminal else {
            Issue.record("no failure")
            return
        }
        #expect(error.retryAfterMs == 5_000)
        #expect(h.records == ["p/a:cooldown"])
    }

    @Test func aCooldownSetByAnotherRequestIsSkipped() {
        var h = self.harness()
        h.board.report(.rateLimited(retryAfterMs: 1_000), for: Self.a, now: h.t0)
        #expect(h.start([Self.a, Self.b], at: 10) == ["launch 0 p/b"])
        _ = h.firstToken(0, at: 20)
        #expect(h.ended(0, Self.finished(), at: 30) == ["finish done p/b"])
        #expect(h.records == ["p/a:cooldown", "p/b:ok"])
        // Once the cooldown is over the target is tried again.
        var later = self.harness()
        later.board.report(.rateLimited(retryAfterMs: 1_000), for: Self.a, now: later.t0)
        #expect(later.start([Self.a, Self.b], at: 1_000) == ["launch 0 p/a"])
    }

    // MARK: Circuit breaker

    @Test func anOpenBreakerFailsAtOnceAndHalfOpensForOneProbe() {
        var router = RouterConfig()
        router.breakerFailures = 2
        router.breakerOpenMs = 1_000
        let only = RouteConfig(name: "r", targets: [Self.a])
        var first = self.harness(route: only, router: router)
        // Each request on the same board: what one learns, the next sees.
        func next() -> Harness { self.harness(route: only, on: first.board) }
        _ = first.start([Self.a])
        _ = first.ended(0, Self.failed(.connect), at: 10)
        var second = next()
        _ = second.start([Self.a], at: 20)
        _ = second.ended(0, Self.failed(.connect), at: 30)
        // Two failures opened the breaker: a third request fails at once, however long its deadline.
        var third = next()
        #expect(third.start([Self.a], at: 40) == ["finish failed circuit_open p/a"])
        #expect(third.records == ["p/a:circuit_open"])
        // After breaker_open_ms one probe goes through; a request beside it is refused.
        var probe = next()
        #expect(probe.start([Self.a], at: 1_040) == ["launch 0 p/a"])
        var beside = next()
        #expect(beside.start([Self.a], at: 1_050) == ["finish failed circuit_open p/a"])
        // The probe succeeds: the breaker closes.
        #expect(probe.ended(0, Self.finished(deltas: 0), at: 1_060) == ["finish done p/a"])
        #expect(first.board.availability(of: Self.a, now: first.at(1_070)) == .available)
    }

    // MARK: Hedging

    @Test func aHedgeStartsTheNextTargetAndTheFirstTokenWins() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], strategy: .hedge(delayMs: 200)))
        #expect(h.start([Self.a, Self.b]) == ["launch 0 p/a", "schedule hedge +200ms"])
        #expect(h.fire(.hedge, at: 200) == ["launch 1 p/b"])
        #expect(h.firstToken(1, at: 250) == ["cancel [0]"])
        #expect(h.ended(0, Self.cancelled, at: 255) == [])
        #expect(h.ended(1, Self.finished(), at: 400) == ["finish done p/b"])
        #expect(h.records == ["p/a:hedge_lost", "p/b:ok"])
        #expect(h.board.ewmaTTFTMs(of: Self.b) == 50)
    }

    @Test func aHedgeTimerAfterTheFirstTokenStartsNothing() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], strategy: .hedge(delayMs: 200)))
        _ = h.start([Self.a, Self.b])
        #expect(h.firstToken(0, at: 100) == [])
        #expect(h.fire(.hedge, at: 200) == [])
        #expect(h.ended(0, Self.finished(), at: 300) == ["finish done p/a"])
    }

    @Test func aHedgeWhoseTargetsAllFailEndsWithTheLastError() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], strategy: .hedge(delayMs: 200)))
        _ = h.start([Self.a, Self.b])
        _ = h.fire(.hedge, at: 200)
        #expect(h.ended(0, Self.failed(.http(status: 500)), at: 210) == [])
        #expect(h.ended(1, Self.failed(.http(status: 502)), at: 220) == ["finish failed upstream_http p/b"])
    }

    @Test func aFailedFirstTargetStartsTheHedgeAtOnce() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], strategy: .hedge(delayMs: 200)))
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.connect), at: 50) == ["launch 1 p/b"])
        #expect(h.fire(.hedge, at: 200) == [])
        _ = h.firstToken(1, at: 210)
        #expect(h.ended(1, Self.finished(), at: 220) == ["finish done p/b"])
    }

    // MARK: Keys from commands

    @Test func a401FromAKeyCommandsProviderReadsTheKeyAnewOnce() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.k, Self.b]))
        _ = h.start([Self.k, Self.b])
        #expect(h.ended(0, Self.failed(.http(status: 401))) == ["refresh key keyed"])
        #expect(h.keyRefreshed() == ["launch 1 keyed/k"])
        #expect(h.ended(1, Self.failed(.http(status: 401))) == ["finish failed auth_failed keyed/k"])
    }

    @Test func a401WithAFixedKeyIsNotRetried() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        #expect(h.ended(0, Self.failed(.http(status: 401))) == ["finish failed auth_failed p/a"])
    }

    // MARK: Cancellation

    @Test func cancellingCancelsTheRunningAttemptAndEndsWhenItHas() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a, Self.b], strategy: .hedge(delayMs: 200)))
        _ = h.start([Self.a, Self.b])
        _ = h.fire(.hedge, at: 200)
        #expect(h.cancelled(at: 300) == ["cancel [0, 1]"])
        #expect(h.ended(0, Self.cancelled, at: 301) == [])
        #expect(h.ended(1, Self.cancelled, at: 302) == ["finish cancelled p/b"])
        #expect(h.records == ["p/a:cancelled", "p/b:cancelled"])
    }

    @Test func cancellingDuringARetryWaitEndsAtOnce() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.a], retries: 1, backoffMs: 1_000))
        _ = h.start([Self.a])
        _ = h.ended(0, Self.failed(.http(status: 500)), at: 10)
        #expect(h.cancelled(at: 20) == ["finish cancelled p/a"])
        #expect(h.fire(h.retryTimer(Self.a, serial: 1), at: 1_010) == [])
    }

    @Test func cancellingWhileAKeyIsReadAnewEndsOnceItIs() {
        var h = self.harness(route: RouteConfig(name: "r", targets: [Self.k]))
        _ = h.start([Self.k])
        _ = h.ended(0, Self.failed(.http(status: 401)))
        #expect(h.cancelled() == [])
        #expect(h.keyRefreshed() == ["finish cancelled keyed/k"])
    }

    @Test func aCancelledWinnerKeepsWhatItDelivered() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        _ = h.firstToken(0)
        #expect(h.cancelled() == ["cancel [0]"])
        var partial = Self.cancelled
        partial.deltas = 2
        #expect(h.ended(0, partial) == ["finish cancelled p/a"])
        guard case .cancelled(let delivered, _)? = h.outcome?.terminal else {
            Issue.record("not cancelled")
            return
        }
        #expect(delivered?.deltas == 2)
    }

    @Test func nothingFollowsTheFinish() {
        var h = self.harness()
        _ = h.start([Self.a, Self.b])
        _ = h.ended(0, Self.finished(deltas: 0))
        #expect(h.ended(0, Self.finished()) == [])
        #expect(h.cancelled() == [])
        #expect(h.fire(.hedge, at: 10) == [])
    }
}
