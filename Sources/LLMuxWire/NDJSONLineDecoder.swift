public import NIOCore

/// What the line decoder passes on: a complete line, or the news that a line
/// was too long and is being skipped.
public enum NDJSONInbound: Sendable {
    /// One line, newline removed. Never empty.
    case line(ByteBuffer)
    /// A line grew past the limit. Its bytes are dropped up to the next `\n`;
    /// the lines after it are decoded as usual.
    case tooLong(limit: Int)
}

/// Splits a byte stream into NDJSON lines on `\n` (0x0A) only.
///
/// NIOExtras' `LineBasedFrameDecoder` can cap a line only by failing the
/// whole channel; protocol v1 instead wants an oversized line answered with
/// `frame_too_large` and skipped, keeping the connection and its other
/// requests alive. This decoder keeps that policy, and nothing else, on top
/// of NIO's `ByteToMessageHandler` buffering. Memory stays bounded by
/// `maxLineBytes` plus one read, whatever the peer sends.
public struct NDJSONLineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = NDJSONInbound

    public let maxLineBytes: Int
    /// Bytes already searched for a newline in the current partial line.
    private var scanned = 0
    /// True while the rest of an oversized line is being thrown away.
    private var discarding = false

    public init(maxLineBytes: Int) {
        precondition(maxLineBytes > 0)
        self.maxLineBytes = maxLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.startIndex + self.scanned
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            if self.discarding {
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.scanned = 0
            } else if view.count > self.maxLineBytes {
                self.discarding = true
                buffer.moveReaderIndex(to: buffer.writerIndex)
                self.scanned = 0
                context.fireChannelRead(Self.wrapInboundOut(.tooLong(limit: self.maxLineBytes)))
            } else {
                self.scanned = view.count
            }
            return .needMoreData
        }
        let length = newline - view.startIndex
        self.scanned = 0
        if self.discarding {
            self.discarding = false
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .continue
        }
        if length > self.maxLineBytes {
            buffer.moveReaderIndex(forwardBy: length + 1)
            context.fireChannelRead(Self.wrapInboundOut(.tooLong(limit: self.maxLineBytes)))
            return .continue
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if Self.isBlank(line) { return .continue }
        context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        while try self.decode(context: context, buffer: &buffer) == .continue {}
        // A last line without its newline still counts (`printf '{...}' | socat ...`).
        if seenEOF, !self.discarding, buffer.readableBytes > 0 {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            self.scanned = 0
            if !Self.isBlank(line) {
                context.fireChannelRead(Self.wrapInboundOut(.line(line)))
            }
        }
        return .needMoreData
    }

    private static func isBlank(_ line: ByteBuffer) -> Bool {
        line.readableBytesView.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
