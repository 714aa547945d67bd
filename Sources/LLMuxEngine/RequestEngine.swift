package import LLMuxConfig
import Foundation
package import LLMuxCost
package import LLMuxLedger
package import LLMuxMetrics
package import LLMuxRouting
package import LLMuxTelemetry
package import LLMuxUpstream
package import LLMuxWire
package import Logging

/// Runs chat requests: resolves the model or route, runs the attempts (see
/// `RouteStateMachine` and `RouteExecution`), and reports everything as wire
/// frames through `emit`, written by one `ResponseFramer` per request.
///
/// For each request `run` emits either one `error` frame (rejected before it
/// started) or `start`, zero or more `delta`s with `seq` from 0, and exactly
/// one terminal `done` or `error` carrying the `attempts`. `start` is sent
/// once a target produced the first delta (or, when no delta comes, just
/// before the terminal frame), so it names the target that answered.
/// Cancelling the calling task cancels the upstream HTTP requests and ends
/// the request with `done{finish_reason:"cancelled"}`.
///
/// An engine holds one configuration; a reload builds a new engine that
/// shares the HTTP clients, credentials, health board and provider queues.
package final class RequestEngine: Sendable {
    package let resolver: ModelResolver
    package let board: TargetHealthBoard
    private let planner: RoutePlanner
    private let runner: AttemptRunner
    private let credentials: CredentialResolver
    private let config: DaemonConfig
    private let logger: Logger
    package let metrics: RequestMetrics
    private let prices: PriceTable
    /// Where finished requests are recorded; `nil`: nowhere.
    package let ledger: UsageLedger?
    /// `[budgets]`; `nil` or empty: no limits.
    package let budgets: BudgetGuard?
    /// Where request and attempt spans go; `nil`: traces are off.
    package let tracer: RequestTracer?

    package init(
        config: DaemonConfig,
        transports: UpstreamTransports,
        credentials: CredentialResolver,
        board: TargetHealthBoard? = nil,
        queues: ProviderQueues = ProviderQueues(),
        metrics: RequestMetrics = RequestMetrics(),
        ledger: UsageLedger? = nil,
        budgets: BudgetGuard? = nil,
        tracer: RequestTracer? = nil,
        logger: Logger
    ) {
        self.tracer = tracer
        self.ledger = ledger
        self.budgets = budgets
        self.metrics = metrics
        self.prices = PriceTable(overrides: config.prices)
        self.resolver = ModelResolver(config: config)
        let board = board ?? TargetHealthBoard(settings: config.router)
        self.board = board
        self.planner = RoutePlanner(board: board, exploration: config.router.exploration)
        self.runner = AttemptRunner(transports: transports, credentials: credentials, queues: queues)
        self.credentials = credentials
        self.config = config
        self.logger = logger
    }

    /// The most one request can cost at `target`: its estimated prompt at the
    /// input price (at the dearest cache-write price when the request marks anything
    /// with `cache_control`, so that its whole prompt may be written to the cache) plus
    /// `max_tokens` (or `max_completion_tokens`, else the budgets' `default_max_tokens`)
    /// at the output price; `nil` when unpriced.
    /// `prompt` is the request's prompt estimate, computed once per request.
    func worstCase(_ request: ChatRequest, prompt: PromptEstimate, at target: RouteTarget) -> Double? {
        guard let price = self.prices.price(provider: target.provider, model: target.upstreamModel) else { return nil }
        // Embeddings have no output to pay for.
        let maxTokens =
            request.operation.capability == .embeddings
            ? 0
            : (request.options["max_completion_tokens"] ?? request.options["max_tokens"])?.intValue.map(Int.init)
                ?? self.config.budgets.defaultMaxTokens
        let promptPrice = prompt.mayWriteCache ? price.dearestPromptPerMillion : price.inputPerMillion
        return (Double(prompt.tokens) * promptPrice + Double(maxTokens) * price.outputPerMillion) / 1_000_000
    }

    /// What a budget reserves: the worst case at the dearest target of the route.
    func worstCase(_ request: ChatRequest, prompt: PromptEstimate, _ plan: RoutePlan) -> Double {
        plan.route.targets.compactMap { self.worstCase(request, prompt: prompt, at: $0) }.max() ?? 0
    }

    /// The `cost` strategy's order: the worst case at each target, cheapest
    /// first; unpriced targets last, in configured order.
    func cheapestFirst(_ request: ChatRequest, prompt: PromptEstimate, _ targets: [RouteTarget]) -> [RouteTarget] {
        targets.enumerated()
            .map { (self.worstCase(request, prompt: prompt, at: $1) ?? .infinity, $0, $1) }
            .sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            .map(\.2)
    }

    /// What a worst-case price needs to know of a request's prompt: its estimated size and
    /// whether it may be written to the provider's cache (it uses `cache_control`). Both walk
    /// the messages, so they are taken once per request, not once per target.
    struct PromptEstimate {
        var tokens: Int
        var mayWriteCache: Bool

        init(_ request: ChatRequest) {
            self.tokens = CostCalculator.estimatedPromptTokens(request)
            self.mayWriteCache = request.asksForPromptCaching
        }
    }

    /// What `prepare` decided for one request, carried across the wait for its outcome.
    private struct Prepared {
        let request: ChatRequest
        let origin: RequestOrigin
        let started: ContinuousClock.Instant
        let startedAt: Date
        let logger: Logger
        let plan: RoutePlan
        let reservation: BudgetGuard.Reservation?
        let downgradedFrom: String?
        let execution: RouteExecution
        let order: [RouteTarget]
        let span: RequestSpan?
    }

    /// `cancellationError`, asked when the request is cancelled, turns the
    /// cancellation into that error instead of `done{finish_reason:"cancelled"}`
    /// (the daemon uses it for `shutting_down`).
    ///
    /// The async part is three lines: everything before and after the wait is in
    /// synchronous methods, so the async frame a streaming request keeps while
    /// suspended holds none of their temporaries.
    package func run(
        _ request: ChatRequest,
        origin: RequestOrigin = RequestOrigin(),
        cancellationError: @escaping @Sendable () -> WireError? = { nil },
        cancelReason: @escaping @Sendable () -> String? = { nil },
        emit: @escaping @Sendable (ServerFrame) -> Void
    ) async {
        let span = self.tracer?.start(request, client: origin.client)
        let framer = ResponseFramer(id: request.id, sink: span?.observing(emit) ?? emit)
        guard let prepared = self.prepare(request, origin: origin, framer: framer, span: span) else { return }
        // `debounce_ms`: no upstream is asked until the wait is over; a request cancelled
        // (superseded) meanwhile ends having cost nothing.
        if let debounce = request.debounceMs, debounce > 0 {
            try? await Task.sleep(for: .milliseconds(debounce))
            if Task.isCancelled {
                let outcome = RouteExecution.Outcome(terminal: .cancelled(nil, target: nil), attempts: [])
                self.finish(prepared, outcome, cancellationError: cancellationError, cancelReason: cancelReason, framer: framer)
                return
            }
        }
        let outcome = await prepared.execution.run(order: prepared.order)
        self.finish(prepared, outcome, cancellationError: cancellationError, cancelReason: cancelReason, framer: framer)
    }

    /// Resolves the model, reserves the budget and plans the attempts; `nil`
    /// when the request was refused (its `error` frame is sent).
    @inline(never)
    private func prepare(_ request: ChatRequest, origin: RequestOrigin, framer: ResponseFramer, span: RequestSpan?) -> Prepared? {
        let started = ContinuousClock.now
        let startedAt = Date()
        let id = request.id
        var logger = self.logger
        logger[metadataKey: "request_id"] = "\(id)"
        if let client = origin.client { logger[metadataKey: "client"] = "\(client)" }
        if let pid = origin.pid { logger[metadataKey: "peer_pid"] = "\(pid)" }
        if let uid = origin.uid { logger[metadataKey: "peer_uid"] = "\(uid)" }

        // Only targets that serve this kind of request are tried, on the route asked for and on
        // a budget's downgrade alike.
        let capability = request.operation.capability
        var plan: RoutePlan
        switch self.resolver.resolve(request.model, for: capability) {
        case .success(let resolved): plan = resolved
        case .failure(let error):
            self.metrics.requestRejected(outcome: error.code.rawValue)
            span?.refused(error)
            framer.fail(error, start: nil)
            return nil
        }
        // The prompt estimate (its messages as JSON) is computed at most once, and only when needed.
        var promptEstimate: PromptEstimate?
        func prompt() -> PromptEstimate {
            if let promptEstimate { return promptEstimate }
            let estimate = PromptEstimate(request)
            promptEstimate = estimate
            return estimate
        }
        // Budgets: reserve the worst case before anything runs; over budget, downgrade or refuse.
        var reservation: BudgetGuard.Reservation?
        var downgradedFrom: String?
        if let budgets = self.budgets, !budgets.isEmpty {
            switch budgets.reserve(self.worstCase(request, prompt: prompt(), plan), route: plan.routeName, client: origin.client) {
            case .granted(let granted):
                reservation = granted
            case .exceeded(let error):
                if let other = plan.route.downgradeRoute, case .success(let cheaper) = self.resolver.resolve(other, for: capability),
                    case .granted(let granted) = budgets.reserve(
                        self.worstCase(request, prompt: prompt(), cheaper), route: other, client: origin.client)
                {
                    logger.notice("over budget: downgraded", metadata: ["from": "\(plan.routeName ?? "")", "to": "\(other)"])
                    downgradedFrom = plan.routeName
                    plan = cheaper
                    reservation = granted
                } else {
                    logger.notice("refused over budget", metadata: ["error": "\(error.message)"])
                    self.metrics.requestRejected(outcome: error.code.rawValue)
                    span?.refused(error)
                    framer.fail(error, start: nil)
                    return nil
                }
            }
        }
        if let routeName = plan.routeName { logger[metadataKey: "route"] = "\(routeName)" }
        span?.resolved(route: plan.routeName, downgradedFrom: downgradedFrom)

        let totalMs = self.config.timeouts.resolved(
            route: plan.routeName == nil ? nil : plan.route.timeouts,
            provider: nil,
            requestTotalMs: request.timeoutMs
        ).totalMs
        let shared = AttemptRunner.Shared(
            request: request,
            routeName: plan.routeName,
            started: started,
            deadline: totalMs.map { started + .milliseconds($0) },
            priority: origin.priority,
            gate: DeliveryGate(),
            framer: framer
        )
        self.metrics.requestStarted()
        let execution = RouteExecution(
            plan: plan,
            config: self.config,
            board: self.board,
            runner: self.runner,
            credentials: self.credentials,
            shared: shared,
            span: span,
            logger: logger
        )
        let order =
            plan.route.strategy == .cost ? self.cheapestFirst(request, prompt: prompt(), plan.route.targets) : self.planner.order(plan.route)
        return Prepared(
            request: request,
            origin: origin,
            started: started,
            startedAt: startedAt,
            logger: logger,
            plan: plan,
            reservation: reservation,
            downgradedFrom: downgradedFrom,
            execution: execution,
            order: order,
            span: span
        )
    }

    /// Sends the terminal frame (and `start` if no delta sent it), settles the
    /// budget, and records the request in the metrics and the ledger.
    @inline(never)
    private func finish(
        _ prepared: Prepared,
        _ outcome: RouteExecution.Outcome,
        cancellationError: @Sendable () -> WireError?,
        cancelReason: @Sendable () -> String?,
        framer: ResponseFramer
    ) {
        let request = prepared.request
        let origin = prepared.origin
        let started = prepared.started
        let startedAt = prepared.startedAt
        let logger = prepared.logger
        let plan = prepared.plan
        let reservation = prepared.reservation
        let downgradedFrom = prepared.downgradedFrom
        let id = request.id
        let total = ContinuousClock.now - started
        let fallbackTarget = plan.route.targets[0]
        let outcomeAttempts = outcome.attempts
        /// An embeddings answer is one frame: no `start` before it, nor before its error.
        let isEmbeddings = request.operation.capability == .embeddings
        func start(_ target: RouteTarget) -> ResponseFramer.Start? {
            isEmbeddings ? nil : ResponseFramer.Start(model: target.upstreamModel, provider: target.provider, route: plan.routeName)
        }
        /// Reported usage, or an estimate (prompt plus delivered output) marked as such; none at
        /// all when no upstream was asked (cancelled while debouncing).
        func usage(_ result: AttemptResult?) -> Usage {
            if result == nil, outcomeAttempts.isEmpty { return Usage(inputTokens: 0, outputTokens: 0) }
            return result?.usage ?? CostCalculator.estimatedUsage(request, outputBytes: result?.outputBytes ?? 0)
        }
        func cost(_ usage: Usage, _ target: RouteTarget) -> RequestCost {
            CostCalculator.cost(usage, self.prices.price(provider: target.provider, model: target.upstreamModel))
        }
        func record(_ target: RouteTarget, usage: Usage, cost: RequestCost?, outcome: String, ttft: Duration?) {
            guard let ledger = self.ledger else { return }
            ledger.record(
                LedgerEntry(
                    requestID: id,
                    startedAt: startedAt,
                    endedAt: Date(),
                    client: origin.client,
                    peerPID: origin.pid,
                    peerUID: origin.uid,
                    route: plan.routeName,
                    provider: target.provider,
                    model: target.upstreamModel,
                    inputTokens: usage.inputTokens,
                    outputTokens: usage.outputTokens,
                    cachedTokens: usage.cachedTokens,
                    reasoningTokens: usage.reasoningTokens,
                    cacheWriteTokens: usage.cacheWriteTokens,
                    kind: request.operation.capability.rawValue,
                    costUSD: cost?.usd,
                    estimated: usage.estimated,
                    outcome: outcome,
                    ttftMs: ttft.map(\.wholeMilliseconds),
                    durationMs: total.wholeMilliseconds,
                    attempts: outcomeAttempts.map {
                        LedgerEntry.Attempt(target: $0.target, outcome: $0.outcome, httpStatus: $0.httpStatus, ms: $0.ms)
                    }
                )
            )
        }
        func done(_ result: AttemptResult?, target: RouteTarget?, finishReason: String) {
            let target = target ?? fallbackTarget
            let usage = usage(result)
            let cost = cost(usage, target)
            self.metrics.requestFinished(
                route: plan.routeName,
                provider: target.provider,
                outcome: finishReason,
                timeToFirstToken: result?.ttft,
                inputTokens: usage.inputTokens,
                outputTokens: usage.outputTokens,
                cachedTokens: usage.cachedTokens,
                cacheWriteTokens: usage.cacheWriteTokens,
                costUSD: cost.usd
            )
            if let reservation { self.budgets?.settle(reservation, actual: cost.usd) }
            record(target, usage: usage, cost: cost, outcome: finishReason, ttft: result?.ttft)
            prepared.span?.finished(
                RequestSpan.Summary(
                    provider: target.provider, model: target.upstreamModel, usage: usage, cost: cost, outcome: finishReason,
                    finishReason: finishReason, error: nil, attempts: outcomeAttempts, timeToFirstToken: result?.ttft))
            logger.info(
                "request done",
                metadata: [
                    "outcome": "\(finishReason)", "provider": "\(target.provider)", "model": "\(target.upstreamModel)", "attempts": "\(outcome.attempts.count)",
                ]
            )
            if isEmbeddings, let vectors = result?.embeddings, finishReason != "cancelled" {
                framer.embeddings(
                    EmbeddingsFrame(
                        id: id, vectors: vectors, usage: usage, model: target.upstreamModel, provider: target.provider, route: plan.routeName,
                        totalMs: total.wholeMilliseconds, attempts: outcome.attempts, cost: cost))
                return
            }
            var frame = DoneFrame(
                id: id,
                finishReason: finishReason,
                usage: usage,
                model: target.upstreamModel,
                provider: target.provider,
                route: plan.routeName,
                timing: Timing(ttftMs: result?.ttft.map(\.wholeMilliseconds), totalMs: total.wholeMilliseconds),
                attempts: outcome.attempts,
                cost: cost,
                downgradedFrom: downgradedFrom,
                toolCalls: (result?.toolCalls ?? [:]).keys.sorted().map { result!.toolCalls[$0]! },
                reasoningState: result?.reasoningState ?? []
            )
            if finishReason == "cancelled" { frame.cancelReason = cancelReason() }
            framer.done(frame, start: start(target))
        }
        func fail(_ error: WireError, target: RouteTarget?, delivered: AttemptResult?) {
            let target = target ?? fallbackTarget
            var error = error
            error.attempts = outcome.attempts
            error.downgradedFrom = downgradedFrom
            // Nothing delivered: nothing is billed for the answer (and the error frame names no
            // cost), but the request is on record.
            var spent = Usage(inputTokens: 0, outputTokens: 0)
            var billed = RequestCost(usd: 0, estimated: false)
            var deliveredTTFT: Duration?
            if let delivered, delivered.delivered {
                spent = usage(delivered)
                billed = cost(spent, target)
                error.cost = billed
                deliveredTTFT = delivered.ttft
            }
            self.metrics.requestFinished(
                route: plan.routeName,
                provider: target.provider,
                outcome: error.code.rawValue,
                timeToFirstToken: delivered?.ttft,
                inputTokens: delivered?.usage?.inputTokens,
                outputTokens: delivered?.usage?.outputTokens,
                costUSD: delivered?.delivered == true ? billed.usd : nil
            )
            if let reservation { self.budgets?.settle(reservation, actual: billed.usd) }
            record(target, usage: spent, cost: billed, outcome: error.code.rawValue, ttft: deliveredTTFT)
            prepared.span?.finished(
                RequestSpan.Summary(
                    provider: target.provider, model: target.upstreamModel, usage: spent, cost: billed,
                    outcome: error.code.rawValue, finishReason: nil, error: error, attempts: outcomeAttempts, timeToFirstToken: delivered?.ttft))
            logger.info(
                "request failed",
                metadata: [
                    "outcome": "\(error.code.rawValue)", "error": "\(error.message)",
                    "provider": "\(target.provider)", "model": "\(target.upstreamModel)", "attempts": "\(outcome.attempts.count)",
                ]
            )
            framer.fail(error, start: start(target))
        }

        switch outcome.terminal {
        case .done(let result, let target):
            done(result, target: target, finishReason: result.finishReason ?? "stop")
        case .failed(let error, let target, let delivered):
            fail(error, target: target, delivered: delivered)
        case .cancelled(let result, let target):
            if let error = cancellationError() {
                fail(error, target: target, delivered: result)
            } else {
                done(result, target: target, finishReason: "cancelled")
            }
        }
    }
}
