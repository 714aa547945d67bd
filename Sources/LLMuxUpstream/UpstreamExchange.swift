import AsyncHTTPClient
import LLMuxConcurrency
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// One upstream HTTP request through async-http-client's delegate API. The client's event
/// loop hands the response head, the body's parts and the end to a `HandOff`; the attempt's
/// task takes them with a `Reader`, all that waits at once.
///
/// This is the streaming path's whole footprint in the HTTP client: no task, task group or
/// async sequence of the client's own per request (its async API kept about 9 KB of async
/// frames and a body producer alive for as long as a stream was open), and cancellation is
/// one call: a cancelled wait for the next part cancels the request, which closes its connection.
///
/// Reading is bounded: past `highWaterBytes` waiting, the client stops reading the
/// connection until the consumer has taken the parts.
final class UpstreamExchange: HTTPClientResponseDelegate {
    typealias Response = Void

    /// What arrives, in order; `end` or `failed` comes last.
    enum Part: Sendable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        case end
        case failed(any Error)

        /// `end` or `failed`: nothing follows.
        var isLast: Bool {
            switch self {
            case .head, .body: false
            case .end, .failed: true
            }
        }
    }

    /// The parts waiting, and the client's read held back while too many bytes wait.
    struct Buffer: HandOffBuffer {
        var parts: [Part] = []
        var waitingBytes = 0
        /// Completing it lets the client read on.
        var heldRead: EventLoopPromise<Void>?
        /// Parts are dropped on arrival: the consumer has what it wanted (see `abandon`).
        var discarding = false

        var isReady: Bool { !self.parts.isEmpty }

        /// Queues a body part (unless the consumer is gone, see `abandon`); when more than
        /// `highWaterBytes` now wait and the read is not held yet, holds it with the promise
        /// `makePromise` gives and returns the future the client is to wait for.
        mutating func append(body bytes: ByteBuffer, holdWith makePromise: () -> EventLoopPromise<Void>) -> EventLoopFuture<Void>? {
            guard !self.discarding else { return nil }
            self.parts.append(.body(bytes))
            self.waitingBytes += bytes.readableBytes
            guard self.waitingBytes > UpstreamExchange.highWaterBytes, self.heldRead == nil else { return nil }
            let promise = makePromise()
            self.heldRead = promise
            return promise.futureResult
        }

        /// The consumer is gone: drops what waits, and what arrives until the request ends;
        /// returns the held read, to release.
        mutating func discardAll() -> EventLoopPromise<Void>? {
            self.discarding = !self.parts.contains(where: \.isLast)
            self.parts.removeAll()
            self.waitingBytes = 0
            defer { self.heldRead = nil }
            return self.heldRead
        }

        /// Every part waiting, and the held read to release (nothing waits any more).
        mutating func take() -> (parts: [Part], release: EventLoopPromise<Void>?) {
            var taken: [Part] = []
            swap(&taken, &self.parts)
            self.waitingBytes = 0
            defer { self.heldRead = nil }
            return (taken, self.heldRead)
        }
    }

    /// The consumer's side: the parts it has taken and not read yet. The consumer takes
    /// everything waiting at once, so a burst of body parts costs one hand-off, not one each.
    struct Reader {
        let exchange: UpstreamExchange
        private var taken: [Part] = []
        private var read = 0

        init(_ exchange: UpstreamExchange) {
            self.exchange = exchange
        }

        /// The next part. Cancelling the waiting task cancels the request; the part that
        /// follows is then `failed` (with async-http-client's cancellation error). Never call
        /// it again after `end` or `failed`.
        mutating func next() async -> Part {
            if self.read == self.taken.count {
                self.taken = await self.exchange.take()
                self.read = 0
            }
            defer { self.read += 1 }
            return self.taken[self.read]
        }
    }

    /// Bytes waiting at which the client stops reading the connection until the consumer has
    /// taken them.
    static let highWaterBytes = 256 * 1024

    private let handOff = HandOff<Buffer>(Buffer())
    private let task = NIOLockedValueBox<HTTPClient.Task<Void>?>(nil)

    private init() {}

    /// Sends `request` on `client`; its parts then wait for a `Reader`. A request the client
    /// cannot make (a bad URL) ends with `failed` at once.
    static func start(_ request: UpstreamHTTPRequest, on client: HTTPClient, logger: Logger) -> UpstreamExchange {
        let exchange = UpstreamExchange()
        let clientRequest: HTTPClient.Request
        do {
            clientRequest = try request.clientRequest()
        } catch {
            exchange.handOff.withBuffer { buffer, _ in buffer.parts.append(.failed(error)) }
            return exchange
        }
        // Indifferent: the delegate runs on the calling task's event loop when it has one (the
        // socket connection's), and any idle pooled connection serves, wherever it lives.
        let task = client.execute(request: clientRequest, delegate: exchange, eventLoop: .indifferent, deadline: nil, logger: logger)
        exchange.task.withLockedValue { $0 = task }
        task.futureResult.whenComplete { result in
            let last: Part
            switch result {
            case .success: last = .end
            case .failure(let error): last = .failed(error)
            }
            exchange.handOff.withBuffer { buffer, _ in
                buffer.discarding = false
                buffer.parts.append(last)
            }
        }
        return exchange
    }

    /// Everything waiting, waiting for something; releases a held read.
    private func take() async -> [Part] {
        let (parts, release) = await withTaskCancellationHandler {
            await self.handOff.next()!
        } onCancel: {
            self.cancel()
        }
        release?.succeed()
        return parts
    }

    /// Cancels the request: the connection is closed, the reader gets `failed`.
    func cancel() {
        self.task.withLockedValue { $0 }?.cancel()
    }

    /// The consumer is done before the body ended (the answer was complete): what is left
    /// is read and dropped so that the connection can return to the pool, for up to `limit`;
    /// then the request is cancelled, which closes a connection that stays open.
    func abandon(after limit: TimeAmount) {
        let held = self.handOff.withBuffer { buffer, _ in buffer.discardAll() }
        held?.succeed()
        guard let task = self.task.withLockedValue({ $0 }) else { return }
        let timer = task.eventLoop.scheduleTask(in: limit) { task.cancel() }
        task.futureResult.whenComplete { _ in timer.cancel() }
    }

    // MARK: HTTPClientResponseDelegate (on the client's event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        self.handOff.withBuffer { buffer, _ in
            if !buffer.discarding { buffer.parts.append(.head(head)) }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ bytes: ByteBuffer) -> EventLoopFuture<Void> {
        let eventLoop = task.eventLoop
        let held = self.handOff.withBuffer { buffer, _ in
            buffer.append(body: bytes) { eventLoop.makePromise(of: Void.self) }
        }
        return held ?? eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        // The task's result carries the error to the consumer, after every part before it.
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}
}
