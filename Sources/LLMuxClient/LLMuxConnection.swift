public import LLMuxWire
public import NIOCore
import NIOPosix

/// A frame received from the daemon, with the exact line it arrived as.
public struct ReceivedFrame: Sendable {
    public var frame: ServerFrame
    /// The line as sent by the daemon, without its newline (`llmux --json` prints it).
    public var raw: String
}

/// Why talking to the daemon failed.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    case daemonUnreachable(path: String, reason: String)
    case invalidFrame(String)
    /// The daemon refused the whole connection (another user, too many connections) and closed
    /// it before a frame could be sent; the refusal is the frame it sent.
    case refused(ReceivedFrame)

    public var description: String {
        switch self {
        case .daemonUnreachable(let path, let reason): return "no llmuxd answers on \(path) (\(reason))"
        case .invalidFrame(let message): return "the daemon sent an invalid frame: \(message)"
        case .refused(let received):
            guard case .error(_, let error) = received.frame else { return received.raw }
            return "\(error.code.rawValue): \(error.message)"
        }
    }
}

/// One connection to llmuxd. Use it inside `LLMuxConnection.withConnection`,
/// which closes it when the body returns.
public struct LLMuxConnection: Sendable {
    typealias Channel = NIOAsyncChannel<NDJSONInbound, ByteBuffer>

    /// The longest line accepted from the daemon.
    public static let maxLineBytes = 64 * 1024 * 1024

    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// Frames from the daemon, in order. It can be iterated only once per connection.
    public let frames: Frames

    /// Connects to the socket and runs `body` with the connection.
    public static func withConnection<Result: Sendable>(
        socketPath: String,
        _ body: (LLMuxConnection) async throws -> Result
    ) async throws -> Result {
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: Self.maxLineBytes))
                        )
                        return try Channel(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(inboundType: NDJSONInbound.self, outboundType: ByteBuffer.self)
                        )
                    }
                }
        } catch {
            throw ClientError.daemonUnreachable(path: socketPath, reason: Self.reason(error))
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(LLMuxConnection(outbound: outbound, frames: Frames(base: inbound)))
        }
    }

    /// Sends one frame. When the daemon has already refused the connection and closed it, this
    /// throws `ClientError.refused` with its refusal rather than the write's error.
    public func send(_ frame: ClientFrame) async throws {
        var buffer = ByteBuffer()
        frame.encode(into: &buffer)
        try await self.sendRaw(buffer)
    }

    /// Sends bytes as they are: pre-encoded lines, or deliberately broken input in tests.
    public func sendRaw(_ bytes: ByteBuffer) async throws {
        do {
            try await self.outbound.write(bytes)
        } catch {
            // A refusal arrives with the daemon's end of the socket shut; a client slower to
            // write than the daemon to refuse finds its channel closed when it writes.
            if let refusal = await self.frames.reader.connectionRefusal() { throw ClientError.refused(refusal) }
            throw error
        }
    }

    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return io.description }
        return String(describing: error)
    }

    /// The daemon's frames, decoded. Each iteration continues where the
    /// previous one stopped; iterate from one task at a time.
    public struct Frames: AsyncSequence, Sendable {
        public typealias Element = ReceivedFrame
        let reader: FrameReader

        init(base: NIOAsyncChannelInboundStream<NDJSONInbound>) {
            self.reader = FrameReader(base.makeAsyncIterator())
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let reader: FrameReader

            public mutating func next() async throws -> ReceivedFrame? {
                try await self.reader.next()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(reader: self.reader)
        }
    }
}

/// Owns the connection's single inbound iterator (NIO allows only one), so
/// that several loops can read one after another.
actor FrameReader {
    private var iterator: NIOAsyncChannelInboundStream<NDJSONInbound>.AsyncIterator

    /// A `next()` waits for a frame: nothing else may use the iterator meanwhile.
    private var reading = false

    init(_ iterator: sending NIOAsyncChannelInboundStream<NDJSONInbound>.AsyncIterator) {
        self.iterator = iterator
    }

    /// The connection-level error frame (no id) among what the daemon sent, read to the end of
    /// the closed connection; `nil` when there is none or another caller is reading.
    func connectionRefusal() async -> ReceivedFrame? {
        guard !self.reading else { return nil }
        while let received = try? await self.next() {
            if case .error(nil, _) = received.frame { return received }
        }
        return nil
    }

    func next() async throws -> ReceivedFrame? {
        // Copy out, advance, store back: the iterator's state lives in a shared
        // reference, and the actor serializes callers.
        self.reading = true
        var iterator = self.iterator
        defer {
            self.iterator = iterator
            self.reading = false
        }
        while let item = try await iterator.next(isolation: self) {
            switch item {
            case .tooLong(let limit):
                throw ClientError.invalidFrame("a line from the daemon exceeded \(limit) bytes")
            case .line(let line):
                let frame: ServerFrame?
                do {
                    frame = try ServerFrame.decodeIfKnown(line: line.readableBytesView)
                } catch {
                    throw ClientError.invalidFrame(error.error.message)
                }
                // Frame types from a newer daemon are skipped, as protocol.md asks.
                if let frame { return ReceivedFrame(frame: frame, raw: String(buffer: line)) }
            }
        }
        return nil
    }
}
