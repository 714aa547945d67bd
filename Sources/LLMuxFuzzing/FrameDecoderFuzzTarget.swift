import LLMuxWire
import NIOCore
import NIOEmbedded

/// Fuzz target: bytes from a client, cut into reads of varying size, through
/// the NDJSON line decoder and the frame decoder.
///
/// Checked on every input: no line holds a newline or exceeds the limit; a
/// line the decoder accepts encodes back to a frame that decodes to the same
/// value; a rejected line gets `parse_error` or `invalid_request` with a
/// message; and the lines passed on are exactly the input's non-blank lines
/// up to the limit, whatever the read sizes.
public enum FrameDecoderFuzzTarget {
    /// The line limit used while fuzzing: small, so oversized lines are common.
    public static let maxLineBytes = 256

    /// Runs one input; returns the broken invariants (empty when all hold).
    public static func run(_ input: [UInt8]) -> [String] {
        var violations: [String] = []
        // The first byte picks the read size, the rest is the stream.
        let readSize = Int(input.first ?? 0) % 64 + 1
        let stream = Array(input.dropFirst())
        let inbound: [NDJSONInbound]
        do {
            inbound = try Self.decodeLines(stream, readSize: readSize)
        } catch {
            return ["the line decoder threw: \(error)"]
        }
        var lines: [[UInt8]] = []
        var tooLong = 0
        for item in inbound {
            switch item {
            case .tooLong(let limit):
                tooLong += 1
                if limit != Self.maxLineBytes { violations.append("tooLong reported limit \(limit)") }
            case .line(let buffer):
                let bytes = Array(buffer.readableBytesView)
                if bytes.contains(0x0A) { violations.append("a line holds a newline") }
                if bytes.count > Self.maxLineBytes { violations.append("a line of \(bytes.count) bytes passed the limit") }
                lines.append(bytes)
                violations += Self.checkFrame(buffer)
            }
        }
        // The same stream in one read gives the same lines: splitting never changes framing.
        if let whole = try? Self.decodeLines(stream, readSize: max(1, stream.count)) {
            let wholeLines = whole.compactMap { item -> [UInt8]? in
                if case .line(let buffer) = item { return Array(buffer.readableBytesView) }
                return nil
            }
            let wholeTooLong = whole.filter { if case .tooLong = $0 { return true } else { return false } }.count
            if wholeLines != lines { violations.append("lines differ between reads of \(readSize) bytes and one read") }
            if wholeTooLong != tooLong { violations.append("oversized-line count differs between read sizes: \(tooLong) vs \(wholeTooLong)") }
        }
        return violations
    }

    /// Decodes one line and checks the result.
    static func checkFrame(_ line: ByteBuffer) -> [String] {
        do {
            let frame = try ClientFrame.decode(line: line)
            var encoded = ByteBuffer()
            frame.encode(into: &encoded)
            let bytes = Array(encoded.readableBytesView)
            guard bytes.last == 0x0A, !bytes.dropLast().contains(0x0A) else {
                return ["an encoded client frame is not exactly one line"]
            }
            let again = try ClientFrame.decode(line: encoded.getSlice(at: encoded.readerIndex, length: encoded.readableBytes - 1)!)
            if again != frame { return ["a client frame changed in an encode/decode round trip: \(frame) -> \(again)"] }
            return []
        } catch {
            var violations: [String] = []
            if error.error.code != .parseError && error.error.code != .invalidRequest {
                violations.append("a bad line got code \(error.error.code.rawValue)")
            }
            if error.error.message.isEmpty { violations.append("an error without a message") }
            return violations
        }
    }

    static func decodeLines(_ stream: [UInt8], readSize: Int) throws -> [NDJSONInbound] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: Self.maxLineBytes)))
        var output: [NDJSONInbound] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + readSize)
            try channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
            offset = end
            while let item = try channel.readInbound(as: NDJSONInbound.self) { output.append(item) }
        }
        // End of input: a last line without its newline still counts.
        _ = try channel.finish(acceptAlreadyClosed: true)
        while let item = try channel.readInbound(as: NDJSONInbound.self) { output.append(item) }
        return output
    }
}
