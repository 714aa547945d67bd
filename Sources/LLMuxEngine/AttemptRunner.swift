import LLMuxConfig
import LLMuxRouting
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOConcurrencyHelpers

/// How one attempt on one target ended, with what it learned on the way.
struct AttemptResult: Sendable {
    enum Outcome: Sendable {
        case finished
        case failed(UpstreamError)
        /// Cancelled: by the client, by the coordinator (a lost hedge race), or at shutdown.
        case cancelled
        /// A phase deadline expired; `message` says which and how long it was.
        case timedOut(TimeoutPhase, message: String)
    }

    var outcome: Outcome = .cancelled
    /// Deltas this attempt delivered (it won the delivery gate).
    var deltas = 0
    /// This attempt delivered deltas to the client.
    var delivered: Bool { self.deltas > 0 }
    /// UTF-8 bytes of text, reasoning and tool-call arguments delivered (for usage estimates).
    var outputBytes = 0
    /// The tool calls delivered, assembled: full arguments per call, by ordinal.
    var toolCalls: [Int: ToolCallFragment] = [:]
    /// Reasoning state the upstream gave for the next turn, in order.
    var reasoningState: [JSONValue] = []
    /// An embeddings request's vectors (the whole answer: nothing is delivered before the end).
    var embeddings: [[Double]]?
    /// From the request's start to this attempt's first delta.
    var ttft: Duration?
    var usage: Usage?
    var finishReason: String?
    /// `[DONE]` or a finish reason arrived: the answer is complete whatever happens after.
    var complete = false
    /// Another attempt had already won the delivery gate when this one produced a token.
    var lost = false
    var duration: Duration = .zero
}

/// Lets exactly one attempt of a request deliver deltas: the first to
/// produce a token (or to complete without any) wins; the others are losers.
final class DeliveryGate: Sendable {
    private let winner = NIOLockedValueBox<Int?>(nil)

    /// `true` when attempt `index` is (now) the winner.
    func claim(_ index: Int) -> Bool {
        self.winner.withLockedValue { winner in
            if winner == nil { winner = index }
            return winner == index
        }
    }

    var current: Int? { self.winner.withLockedValue { $0 } }
}

/// Runs one attempt: waits for a provider slot, reads the credential, and
/// streams from the upstream under the attempt's phase deadlines. It runs in
/// the task of the attempt's `RequestCancellation`, which a passed deadline
/// fires; the stream has no tasks of its own.
struct AttemptRunner: Sendable {
    /// What every attempt of one request shares. A class: each attempt's task and async
    /// frames hold a reference instead of their own 250-byte copy.
    final class Shared: Sendable {
        let request: ChatRequest
        let routeName: String?
        let started: ContinuousClock.Instant
        /// The request's total deadline; `nil` when `total_ms` is off.
        let deadline: ContinuousClock.Instant?
        let priority: RequestPriority
        let gate: DeliveryGate
        /// Where the winner's `start` and deltas go.
        let framer: ResponseFramer

        init(
            request: ChatRequest,
            routeName: String?,
            started: ContinuousClock.Instant,
            deadline: ContinuousClock.Instant?,
            priority: RequestPriority,
            gate: DeliveryGate,
            framer: ResponseFramer
        ) {
            self.request = request
            self.routeName = routeName
            self.started = started
            self.deadline = deadline
            self.priority = priority
            self.gate = gate
            self.framer = framer
        }
    }

    struct LostRace: Error {}

    let transports: UpstreamTransports
    let credentials: CredentialResolver
    let queues: ProviderQueues

    func run(
        index: Int,
        target: RouteTarget,
        provider: ProviderConfig,
        limits: TimeoutConfig,
        shared: Shared,
        cancellation: RequestCancellation,
        logger: Logger,
        onFirstToken: @escaping @Sendable (ContinuousClock.Instant) -> Void
    ) async -> AttemptResult {
        let attemptStart = ContinuousClock.now
        var result = await self.runTimed(
            index: index,
            target: target,
            provider: provider,
            limits: limits,
            shared: shared,
            cancellation: cancellation,
            attemptStart: attemptStart,
            logger: logger,
            onFirstToken: onFirstToken
        )
        result.duration = ContinuousClock.now - attemptStart
        return result
    }

    private func runTimed(
        index: Int,
        target: RouteTarget,
        provider: ProviderConfig,
        limits: TimeoutConfig,
        shared: Shared,
        cancellation: RequestCancellation,
        attemptStart: ContinuousClock.Instant,
        logger: Logger,
        onFirstToken: @escaping @Sendable (ContinuousClock.Instant) -> Void
    ) async -> AttemptResult {
        var result = AttemptResult()
        guard await self.acquireSlot(provider, priority: shared.priority, until: shared.deadline) else {
            if Task.isCancelled { return result }
            result.outcome = .timedOut(
                .total,
                message:
                    "the request's total time limit passed while it waited for a free slot of provider '\(provider.name)' (max_inflight \(provider.maxInflight ?? 0))"
            )
            return result
        }
        defer { self.queues.release(provider.name) }

        let apiKey: Secret?
        do {
            apiKey = try await self.credentials.key(for: provider)
        } catch {
            result.outcome = .failed(UpstreamError(.credentials, error.message))
            return result
        }
        if Task.isCancelled { return result }

        // A passed deadline cancels the attempt through its signal; the stream then ends as cancelled.
        let transport = self.transports.transport(for: provider)
        let watchdog = RequestWatchdog(
            limits: .init(
                header: limits.headerMs.map { .milliseconds($0) },
                firstToken: limits.firstTokenMs.map { .milliseconds($0) },
                idle: limits.idleMs.map { .milliseconds($0) },
                total: shared.deadline.map { $0 - attemptStart }
            ),
            elapsed: ContinuousClock.now - attemptStart,
            eventLoop: transport.eventLoop,
            onTimeout: { _ in cancellation.cancel() }
        )
        let attempt = await Self.stream(
            index: index,
            target: target,
            provider: provider,
            apiKey: apiKey,
            upstream: transport,
            watchdog: watchdog,
            shared: shared,
            logger: logger,
            onFirstToken: onFirstToken
        )
        watchdog.stop()
        result = attempt
        if case .cancelled = attempt.outcome, let timeout = watchdog.expiredPhase {
            // A deadline that hit after the answer was complete (while reading the body's end) changes nothing.
            let description =
                timeout == .total
                ? "the request exceeded its total time limit of \(limits.totalMs ?? 0) ms"
                : watchdog.describe(timeout)
            result.outcome = attempt.complete ? .finished : .timedOut(timeout, message: "provider '\(provider.name)': \(description)")
        }
        return result
    }

    /// Waits for a slot of the provider until `deadline`. `false` when the
    /// deadline passed or the task was cancelled first.
    private func acquireSlot(_ provider: ProviderConfig, priority: RequestPriority, until deadline: ContinuousClock.Instant?) async -> Bool {
        guard let limit = provider.maxInflight else { return true }
        let queues = self.queues
        guard let deadline else { return await queues.acquire(provider.name, limit: limit, priority: priority) }
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await queues.acquire(provider.name, limit: limit, priority: priority) }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            var acquired = false
            while let next = await group.next() {
                if let granted = next {
                    acquired = granted
                    group.cancelAll()
                } else {
                    group.cancelAll()
                }
            }
            if acquired && Task.isCancelled {
                queues.release(provider.name)
                return false
            }
            return acquired
        }
    }

    private static func stream(
        index: Int,
        target: RouteTarget,
        provider: ProviderConfig,
        apiKey: Secret?,
        upstream: any UpstreamTransport,
        watchdog: RequestWatchdog,
        shared: Shared,
        logger: Logger,
        onFirstToken: @Sendable (ContinuousClock.Instant) -> Void
    ) async -> AttemptResult {
        var result = AttemptResult()
        let request = shared.request
        // A passing-through answer's own events, held until the delta they lead to (before the
        // first token they belong to no one yet: another target may still answer).
        var native: [NativeEvent] = []
        let start = ResponseFramer.Start(model: target.upstreamModel, provider: provider.name, route: shared.routeName)
        do {
            try await upstream.stream(
                request,
                provider: provider,
                upstreamModel: target.upstreamModel,
                apiKey: apiKey,
                logger: logger,
                onProgress: { progress in
                    switch progress {
                    case .headers: watchdog.headersReceived()
                    case .bytes: watchdog.bytesReceived()
                    }
                },
                onEvent: { event in
                    switch event {
                    case .delta(let text, let reasoning, let toolCalls):
                        if result.ttft == nil {
                            guard shared.gate.claim(index) else {
                                result.lost = true
                                throw LostRace()
                            }
                            let now = ContinuousClock.now
                            result.ttft = now - shared.started
                            watchdog.firstTokenReceived()
                            shared.framer.start(start)
                            onFirstToken(now)
                        }
                        shared.framer.delta(text: text, reasoning: reasoning, toolCalls: toolCalls, native: native)
                        native.removeAll()
                        result.deltas += 1
                        result.outputBytes +=
                            (text?.utf8.count ?? 0) + (reasoning?.utf8.count ?? 0)
                            + toolCalls.reduce(0) { $0 + ($1.arguments?.utf8.count ?? 0) + ($1.name?.utf8.count ?? 0) }
                        for fragment in toolCalls {
                            var call = result.toolCalls[fragment.index] ?? ToolCallFragment(index: fragment.index, arguments: "")
                            if let id = fragment.id { call.id = id }
                            if let name = fragment.name { call.name = name }
                            call.arguments = (call.arguments ?? "") + (fragment.arguments ?? "")
                            result.toolCalls[fragment.index] = call
                        }
                    case .finish(let reason):
                        result.finishReason = reason
                        result.complete = true
                    case .usage(let usage):
                        result.usage = usage
                    case .end:
                        result.complete = true
                    case .error:
                        break
                    case .reasoningState(let item):
                        result.reasoningState.append(item)
                    case .embeddings(let vectors):
                        result.embeddings = vectors
                    case .native(let event):
                        // Events that lead to no delta (block ends, pings, usage) go out on their own.
                        if result.ttft != nil, !native.isEmpty {
                            shared.framer.delta(text: nil, reasoning: nil, toolCalls: [], native: native)
                            result.deltas += 1
                            native.removeAll()
                        }
                        native.append(event)
                    }
                }
            )
            result.outcome = Task.isCancelled && result.finishReason == nil ? .cancelled : .finished
        } catch let error as UpstreamError {
            result.outcome = Task.isCancelled ? .cancelled : .failed(error)
        } catch is LostRace {
            result.outcome = .cancelled
        } catch {
            result.outcome = .cancelled
            if !Task.isCancelled {
                result.outcome = .failed(UpstreamError(.protocolViolation, "unexpected failure: \(error)"))
            }
        }
        Self.deliverRest(native, of: &result, index: index, start: start, shared: shared)
        return result
    }

    /// Sends the passing-through events still held: after the winner's last delta, or, for an
    /// answer complete without any delta (a turn of server tools only), as the answer itself
    /// when this attempt wins the gate with it.
    private static func deliverRest(_ native: [NativeEvent], of result: inout AttemptResult, index: Int, start: ResponseFramer.Start, shared: Shared) {
        guard !native.isEmpty, !result.lost else { return }
        if result.ttft == nil {
            guard case .finished = result.outcome, result.complete, shared.gate.claim(index) else { return }
            result.ttft = ContinuousClock.now - shared.started
            shared.framer.start(start)
        }
        shared.framer.delta(text: nil, reasoning: nil, toolCalls: [], native: native)
        result.deltas += 1
    }
}
