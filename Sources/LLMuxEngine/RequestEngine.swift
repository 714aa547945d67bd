public import LLMuxConfig
public import LLMuxUpstream
public import LLMuxWire
public import Logging

/// Runs chat requests: resolves the model, fetches the credential, streams
/// from the upstream under phase deadlines, and reports everything as wire
/// frames through `emit`.
///
/// For each request `run` emits either one `error` frame (rejected before it
/// started) or `start`, zero or more `delta`s with `seq` from 0, and exactly
/// one terminal `done` or `error`. Cancelling the calling task cancels the
/// upstream HTTP request and ends the request with `done{finish_reason:"cancelled"}`.
public final class RequestEngine: Sendable {
    public let resolver: ModelResolver
    private let clients: UpstreamHTTPClients
    private let credentials: CredentialResolver
    private let timeouts: TimeoutConfig
    private let logger: Logger

    public init(config: DaemonConfig, clients: UpstreamHTTPClients, credentials: CredentialResolver, logger: Logger) {
        self.resolver = ModelResolver(config: config)
        self.clients = clients
        self.credentials = credentials
        self.timeouts = config.timeouts
        self.logger = logger
    }

    /// Outcome of one upstream attempt, with whatever was learned before it ended.
    struct AttemptResult: Sendable {
        enum Outcome: Sendable {
            case finished
            case failed(UpstreamError)
            case cancelled
        }

        var outcome: Outcome = .cancelled
        var nextSeq = 0
        var ttft: Duration?
        var usage: Usage?
        var finishReason: String?
        /// `[DONE]` or a finish reason arrived: the answer is complete whatever happens after.
        var complete = false
    }

    private enum Child: Sendable {
        case attempt(AttemptResult)
        case watchdog(TimeoutPhase?)
    }

    /// `cancellationError`, asked when the request is cancelled, turns the
    /// cancellation into that error instead of `done{finish_reason:"cancelled"}`
    /// (the daemon uses it for `shutting_down`).
    public func run(
        _ request: ChatRequest,
        client: String? = nil,
        cancellationError: @escaping @Sendable () -> WireError? = { nil },
        emit: @escaping @Sendable (ServerFrame) -> Void
    ) async {
        let started = ContinuousClock.now
        let id = request.id
        var logger = self.logger
        logger[metadataKey: "request_id"] = "\(id)"
        if let client { logger[metadataKey: "client"] = "\(client)" }

        let target: ResolvedTarget
        switch self.resolver.resolve(request.model) {
        case .success(let resolved): target = resolved
        case .failure(let error):
            emit(.error(id: id, error))
            return
        }
        let provider = target.provider
        logger[metadataKey: "provider"] = "\(provider.name)"
        logger[metadataKey: "model"] = "\(target.upstreamModel)"
        emit(.start(id: id, model: target.upstreamModel, provider: provider.name))

        func finish(_ result: AttemptResult, error: WireError?) {
            let total = ContinuousClock.now - started
            if let error {
                logger.info("request failed", metadata: ["outcome": "\(error.code.rawValue)", "error": "\(error.message)"])
                emit(.error(id: id, error))
                return
            }
            let reason = result.finishReason ?? "stop"
            logger.info("request done", metadata: ["outcome": "\(reason)"])
            emit(
                .done(
                    DoneFrame(
                        id: id,
                        finishReason: reason,
                        usage: result.usage,
                        model: target.upstreamModel,
                        provider: provider.name,
                        timing: Timing(ttftMs: result.ttft.map(Self.milliseconds), totalMs: Self.milliseconds(total))
                    )
                )
            )
        }

        let apiKey: Secret?
        do {
            apiKey = try await self.credentials.key(for: provider)
        } catch {
            finish(AttemptResult(), error: WireError(.authFailed, error.message))
            return
        }
        if Task.isCancelled {
            var cancelled = AttemptResult()
            cancelled.finishReason = "cancelled"
            finish(cancelled, error: cancellationError())
            return
        }

        let watchdog = RequestWatchdog(
            limits: .init(
                header: self.timeouts.headerMs.map { .milliseconds($0) },
                firstToken: self.timeouts.firstTokenMs.map { .milliseconds($0) },
                idle: self.timeouts.idleMs.map { .milliseconds($0) },
                total: (request.timeoutMs ?? self.timeouts.totalMs).map { .milliseconds($0) }
            ),
            start: started
        )
        let upstream = OpenAIChatProvider(httpClient: self.clients.client(for: provider))
        let attemptLogger = logger

        let (attempt, timeout) = await withTaskGroup(of: Child.self) { group -> (AttemptResult, TimeoutPhase?) in
            group.addTask {
                .attempt(
                    await Self.attempt(
                        request,
                        target: target,
                        apiKey: apiKey,
                        upstream: upstream,
                        watchdog: watchdog,
                        started: started,
                        logger: attemptLogger,
                        emit: emit
                    )
                )
            }
            group.addTask { .watchdog(await watchdog.run()) }
            var attempt = AttemptResult()
            var timeout: TimeoutPhase?
            for await child in group {
                switch child {
                case .attempt(let result): attempt = result
                case .watchdog(let phase): timeout = phase
                }
                group.cancelAll()
            }
            return (attempt, timeout)
        }

        switch attempt.outcome {
        case .finished:
            finish(attempt, error: nil)
        case .failed(let error):
            finish(attempt, error: error.wireError)
        case .cancelled where timeout != nil && attempt.complete:
            // A deadline hit after the answer was complete (while reading the body's end).
            finish(attempt, error: nil)
        case .cancelled:
            if let timeout {
                finish(attempt, error: UpstreamError(.timeout(phase: timeout), "provider '\(provider.name)': \(watchdog.describe(timeout))").wireError)
            } else {
                var cancelled = attempt
                cancelled.finishReason = "cancelled"
                finish(cancelled, error: cancellationError())
            }
        }
    }

    private static func attempt(
        _ request: ChatRequest,
        target: ResolvedTarget,
        apiKey: Secret?,
        upstream: OpenAIChatProvider,
        watchdog: RequestWatchdog,
        started: ContinuousClock.Instant,
        logger: Logger,
        emit: @Sendable (ServerFrame) -> Void
    ) async -> AttemptResult {
        var result = AttemptResult()
        do {
            try await upstream.stream(
                request,
                provider: target.provider,
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
                            result.ttft = ContinuousClock.now - started
                            watchdog.firstTokenReceived()
                        }
                        emit(.delta(DeltaFrame(id: request.id, seq: result.nextSeq, text: text, reasoning: reasoning, toolCalls: toolCalls)))
                        result.nextSeq += 1
                    case .finish(let reason):
                        result.finishReason = reason
                        result.complete = true
                    case .usage(let usage):
                        result.usage = usage
                    case .end:
                        result.complete = true
                    case .error:
                        break
                    }
                }
            )
            result.outcome = Task.isCancelled && result.finishReason == nil ? .cancelled : .finished
        } catch let error as UpstreamError {
            result.outcome = Task.isCancelled ? .cancelled : .failed(error)
        } catch {
            result.outcome = .cancelled
            if !Task.isCancelled {
                result.outcome = .failed(UpstreamError(.protocolViolation, "unexpected failure: \(error)"))
            }
        }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
