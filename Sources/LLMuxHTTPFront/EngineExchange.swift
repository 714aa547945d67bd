import HTTPTypes
import Hummingbird
import LLMuxConcurrency
import LLMuxEngine
import LLMuxWire
import NIOConcurrencyHelpers
import NIOCore

/// Turns engine frames into a dialect's streamed body: `append` writes the
/// events for one frame and says whether the stream has ended.
protocol StreamEncoder: Sendable {
    mutating func append(_ frame: ServerFrame, to buffer: inout ByteBuffer) -> Bool
}

/// One request of the HTTP front on the engine, whatever the dialect: the
/// engine runs in its own task and hands its frames over a `FrameQueue`; the
/// task is cancelled when the client hangs up, reads too slowly, or the body
/// is written. The dialects differ only in how they read the request and
/// write the frames.
struct EngineExchange: Sendable {
    let queue: FrameQueue
    let task: Task<Void, Never>

    /// The request's body, at most `context.maxUploadSize` bytes; `frame_too_large` past that.
    static func body(of request: Request, _ context: HTTPFrontContext) async throws(WireError) -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: context.maxUploadSize)
        } catch {
            throw WireError(.frameTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
        }
    }

    /// The JSON object of a request body, for a route that runs the engine: refused while llmuxd
    /// shuts down, and when the body is too large or not a JSON object.
    static func requestObject(_ request: Request, _ context: HTTPFrontContext, hooks: HTTPFront.Hooks) async throws(WireError) -> [String: JSONValue] {
        if hooks.isShuttingDown() { throw WireError(.shuttingDown, "llmuxd is shutting down and takes no new requests", retryable: true) }
        return try RequestBodyFields.object(try await Self.body(of: request, context))
    }

    /// The body's `model`, which must be a non-empty string.
    static func requiredModel(_ object: [String: JSONValue]) throws(WireError) -> String {
        guard case .string(let model)? = object["model"], !model.isEmpty else {
            throw WireError(.invalidRequest, "'model' is required and must be a non-empty string")
        }
        return model
    }

    /// The `done` that ended a request answered without streaming, or the error to answer with
    /// (deltas, then an error: the answer is incomplete).
    static func finalDone(_ head: [ServerFrame]) -> Result<DoneFrame, WireError> {
        switch head.last {
        case .done(let done)?: return .success(done)
        case .error(_, let error)?: return .failure(error)
        default: return .failure(WireError(.internal, "the request ended without a terminal frame"))
        }
    }

    /// The text of every delta among `frames`, joined: a non-streamed completion's answer.
    static func deliveredText(_ frames: [ServerFrame]) -> String {
        frames.compactMap { frame -> String? in
            if case .delta(let delta) = frame { return delta.text }
            return nil
        }.joined()
    }

    /// Who asked: the client's program (from `User-Agent`) and `x-llmux-priority`.
    static func origin(of request: Request) -> RequestOrigin {
        let priority = request.headers[HTTPField.Name("x-llmux-priority")!].flatMap(RequestPriority.init(rawValue:)) ?? .interactive
        let userAgent = request.headers[.userAgent].map { String($0.prefix { $0 != " " }) } ?? "unknown"
        return RequestOrigin(client: "http:\(userAgent)", priority: priority)
    }

    /// The `x-llmux-supersede` key of `request`, scoped to its peer: the process at the other
    /// end of a Unix socket, or the remote address on TCP (every loopback client there).
    static func supersedeKey(of request: Request, _ context: HTTPFrontContext, hooks: HTTPFront.Hooks) async -> String? {
        guard let key = request.headers[HTTPField.Name("x-llmux-supersede")!], !key.isEmpty else { return nil }
        if let pid = await hooks.peerPID(context.channel) { return "pid:\(pid)|\(key)" }
        return "addr:\(context.channel.remoteAddress?.ipAddress ?? "?")|\(key)"
    }

    /// Starts `request` on the current engine; with `supersede`, it cancels the request that
    /// held that key (whose `done` then says `superseded`) and holds it until it ends.
    static func start(
        _ request: ChatRequest, origin: RequestOrigin, hooks: HTTPFront.Hooks, channel: any Channel, supersede: String? = nil
    ) -> EngineExchange {
        let engine = hooks.engine()
        hooks.requestStarted()
        // The engine's task outlives the handler (the response body is written after it returns),
        // so it is unstructured; it always finishes the queue. It runs on the connection's event
        // loop, as a socket connection's requests do. A hang-up, a reader that never reads, a
        // newer request with its supersede key and the end of the body each cancel it.
        let taskBox = QueueBox()
        let queue = FrameQueue(onOverflow: { taskBox.cancel() })
        let reason = NIOLockedValueBox<String?>(nil)
        let claim = supersede.map { key in
            (
                key,
                hooks.supersede.claim(key) {
                    reason.withLockedValue { $0 = $0 ?? "superseded" }
                    taskBox.cancel()
                }
            )
        }
        let task = Task(executorPreference: EventLoopTaskExecutor(channel.eventLoop)) {
            await engine.run(request, origin: origin, cancelReason: { reason.withLockedValue { $0 } }) { frame in queue.push(frame) }
            if let (key, token) = claim { hooks.supersede.release(key, token: token) }
            queue.finish()
            hooks.requestEnded()
        }
        taskBox.set(task)
        channel.closeFuture.whenComplete { _ in task.cancel() }
        return EngineExchange(queue: queue, task: task)
    }

    /// The frames that come before the response head can be chosen: up to the
    /// first delta when streaming, up to the terminal frame otherwise. An error
    /// before any output thus gets a real HTTP status, after every fallback was tried.
    /// The frames are taken in batches, so the head may hold frames past the first delta
    /// (the ones that had arrived with it); `streamBody(first:)` writes them all.
    func head(streaming: Bool) async -> [ServerFrame] {
        var head: [ServerFrame] = []
        while let frames = await self.queue.next() {
            head.append(contentsOf: frames)
            let enough = frames.contains { frame in
                if case .delta = frame, streaming { return true }
                return frame.isTerminal
            }
            if enough { break }
        }
        return head
    }

    /// The error that ended the request before any delta, if that is how it ended.
    static func errorBeforeOutput(_ head: [ServerFrame]) -> WireError? {
        guard case .error(_, let error)? = head.last else { return nil }
        return head.contains { if case .delta = $0 { return true } else { return false } } ? nil : error
    }

    /// A `text/event-stream` body: `first`, then the rest of the frames, through `encoder`.
    func streamBody(first: [ServerFrame], encoder: some StreamEncoder) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let queue = self.queue
        let task = self.task
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                var encoder = encoder
                var buffer = ByteBuffer()
                var ended = false
                do {
                    for frame in first where !ended { ended = encoder.append(frame, to: &buffer) }
                    try await writer.write(buffer)
                    // Every frame that waits goes out in one write.
                    while !ended, let frames = await queue.next() {
                        buffer.clear()
                        for frame in frames where !ended { ended = encoder.append(frame, to: &buffer) }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
                    try await writer.finish(nil)
                } catch {
                    task.cancel()
                    throw error
                }
                task.cancel()
            }
        )
    }
}
