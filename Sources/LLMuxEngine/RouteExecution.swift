import LLMuxConcurrency
import LLMuxConfig
import LLMuxRouting
import LLMuxTelemetry
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOConcurrencyHelpers

/// Runs one request over its route: the `RouteStateMachine` decides, this
/// shell carries the decisions out. Every attempt and every timer is a child
/// task of one discarding task group; each posts its event to the mailbox,
/// the shell hands it to the machine and runs the actions it returns.
///
/// One instance serves one request, inside that request's task (it is not
/// `Sendable`). The async part of `run` is the loop that waits for the next
/// event; everything else is synchronous, so a suspended request keeps a
/// small async frame.
final class RouteExecution {
    typealias Outcome = RouteStateMachine.Outcome

    private enum Event: Sendable {
        case firstToken(attempt: Int, at: ContinuousClock.Instant)
        case ended(attempt: Int, AttemptResult)
        case timer(RouteStateMachine.Timer)
    }

    /// What the shell does after running a batch of actions.
    private enum Next {
        case wait
        case refreshKey(String)
        case finish(Outcome)
    }

    let plan: RoutePlan
    /// The configuration's providers and default timeouts (not the whole 380-byte
    /// configuration, which each running request would keep a copy of).
    let providers: [String: ProviderConfig]
    let timeouts: TimeoutConfig
    let runner: AttemptRunner
    let credentials: CredentialResolver
    let shared: AttemptRunner.Shared
    /// The request's span, parent of one span per attempt; `nil`: traces are off.
    let span: RequestSpan?
    let logger: Logger

    private var machine: RouteStateMachine
    /// The attempts' and timers' events; never closed: the loop collects every attempt's end.
    private let mailbox = HandOff<FIFOBuffer<Event>>()
    /// The cancellation signal of each running attempt.
    private var signals: [Int: RequestCancellation] = [:]
    /// The span of each running attempt (when traces are on).
    private var attemptSpans: [Int: AttemptSpan] = [:]

    init(
        plan: RoutePlan,
        config: DaemonConfig,
        board: TargetHealthBoard,
        runner: AttemptRunner,
        credentials: CredentialResolver,
        shared: AttemptRunner.Shared,
        span: RequestSpan?,
        logger: Logger
    ) {
        self.plan = plan
        self.providers = config.providers
        self.timeouts = config.timeouts
        self.runner = runner
        self.credentials = credentials
        self.shared = shared
        self.span = span
        self.logger = logger
        let keyCommandProviders = Set(
            plan.route.targets.map(\.provider).filter { provider in
                if case .command = config.providers[provider]?.keySource { return true }
                return false
            })
        self.machine = RouteStateMachine(
            settings: .init(route: plan.route, deadline: shared.deadline, keyCommandProviders: keyCommandProviders),
            board: board,
            gate: shared.gate
        )
    }

    /// Runs the request once; `order` is the planned order of the route's targets.
    func run(order: [RouteTarget]) async -> Outcome {
        await withDiscardingTaskGroup(returning: Outcome.self) { group in
            var actions = self.machine.start(order: order, now: .now)
            var toldCancelled = false
            while true {
                switch self.perform(actions, &group) {
                case .finish(let outcome):
                    group.cancelAll()
                    return outcome
                case .refreshKey(let provider):
                    // A rejected key from a key command: read it anew, then retry the target.
                    await self.credentials.forget(provider: provider)
                    actions = self.machine.keyRefreshed(now: .now)
                case .wait:
                    let event = await self.mailbox.next()!
                    actions = []
                    if !toldCancelled && Task.isCancelled {
                        toldCancelled = true
                        actions = self.machine.cancelled(now: .now)
                    }
                    actions += self.handle(event)
                }
            }
        }
    }

    @inline(never)
    private func handle(_ event: Event) -> [RouteStateMachine.Action] {
        switch event {
        case .firstToken(let attempt, let at):
            return self.machine.firstToken(attempt: attempt, at: at)
        case .ended(let attempt, let result):
            self.signals[attempt] = nil
            let listed = self.machine.attempts.count
            let actions = self.machine.attemptEnded(attempt: attempt, result: result, now: .now)
            if let span = self.attemptSpans.removeValue(forKey: attempt) {
                // The machine lists this attempt first among the records it appends now.
                let record = self.machine.attempts.count > listed ? self.machine.attempts[listed] : nil
                span.ended(record: record, usage: result.usage, finishReason: result.finishReason, timeToFirstToken: result.ttft)
            }
            return actions
        case .timer(let timer):
            return self.machine.timerFired(timer, now: .now)
        }
    }

    @inline(never)
    private func perform(_ actions: [RouteStateMachine.Action], _ group: inout DiscardingTaskGroup) -> Next {
        var next = Next.wait
        for action in actions {
            switch action {
            case .launch(let attempt, let target):
                self.launch(attempt, target, &group)
            case .cancel(let attempts):
                for attempt in attempts { self.signals[attempt]?.cancel() }
            case .schedule(let timer, let instant):
                let mailbox = self.mailbox
                group.addTask {
                    try? await Task.sleep(until: instant, clock: .continuous)
                    mailbox.append(.timer(timer))
                }
            case .refreshKey(let provider):
                next = .refreshKey(provider)
            case .finish(let outcome):
                return .finish(outcome)
            }
        }
        return next
    }

    private func launch(_ index: Int, _ target: RouteTarget, _ group: inout DiscardingTaskGroup) {
        let signal = RequestCancellation()
        self.signals[index] = signal
        if let span = self.span { self.attemptSpans[index] = span.attempt(index: index, provider: target.provider, model: target.upstreamModel) }
        let provider = self.providers[target.provider]!
        let limits = self.timeouts.resolved(
            route: self.plan.routeName == nil ? nil : self.plan.route.timeouts,
            provider: provider.timeouts,
            requestTotalMs: self.shared.request.timeoutMs
        )
        // The attempt's logger goes to the HTTP client only, which logs at debug and trace: below
        // those levels the attempt's own metadata would be a dictionary copy per request
        // (about 1 KB for as long as it streams) that nothing reads.
        var attemptLogger = self.logger
        if attemptLogger.logLevel <= .debug {
            attemptLogger[metadataKey: "provider"] = "\(target.provider)"
            attemptLogger[metadataKey: "model"] = "\(target.upstreamModel)"
        }
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
                    onFirstToken: { at in mailbox.append(.firstToken(attempt: index, at: at)) }
                )
                box.withLockedValue { $0 = result }
            }
            mailbox.append(.ended(attempt: index, box.withLockedValue { $0 } ?? AttemptResult()))
        }
    }
}
