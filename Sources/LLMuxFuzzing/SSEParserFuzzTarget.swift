import LLMuxUpstream

/// Fuzz target: an upstream body through the SSE parser, in one piece and cut
/// into reads of varying size.
///
/// Checked on every input: both ways give the same events and the same
/// failure; no event's data holds a carriage return (lines end at CR, LF or
/// CRLF); and no event or line passes the limits.
public enum SSEParserFuzzTarget {
    /// Small limits, so the over-limit paths are common.
    static let limits = SSEParser.Limits(maxLineBytes: 512, maxEventBytes: 2048)

    public static func run(_ input: [UInt8]) -> [String] {
        var violations: [String] = []
        let readSize = Int(input.first ?? 0) % 32 + 1
        let body = Array(input.dropFirst())
        let whole = Self.parse(body, readSize: max(1, body.count))
        let pieces = Self.parse(body, readSize: readSize)
        if whole.events != pieces.events { violations.append("events differ between one read and reads of \(readSize) bytes") }
        if whole.failure != pieces.failure {
            violations.append("failure differs between read sizes: \(String(describing: whole.failure)) vs \(String(describing: pieces.failure))")
        }
        for event in whole.events {
            if event.data.contains("\r") { violations.append("event data holds a carriage return") }
            if event.data.utf8.count > Self.limits.maxEventBytes { violations.append("an event of \(event.data.utf8.count) bytes passed the limit") }
        }
        return violations
    }

    static func parse(_ body: [UInt8], readSize: Int) -> (events: [SSEEvent], failure: SSEParser.Failure?) {
        var parser = SSEParser(limits: Self.limits)
        var events: [SSEEvent] = []
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + readSize)
            do {
                try parser.feed(body[offset..<end], into: &events)
            } catch {
                return (events, error)
            }
            offset = end
        }
        parser.finish()
        return (events, nil)
    }
}
