/// One dispatched Server-Sent Event.
package struct SSEEvent: Sendable, Hashable {
    /// The `event:` field, or `nil` for the default type ("message").
    package var event: String?
    /// The joined `data:` lines, without the final line feed.
    package var data: String

    package init(event: String? = nil, data: String) {
        self.event = event
        self.data = data
    }
}

/// A byte-level Server-Sent Events parser following the WHATWG "event stream
/// interpretation" rules: lines end at CRLF, LF or a lone CR (a CRLF split
/// across two reads is handled), one leading BOM is dropped, `:` lines are
/// comments, one space after the field colon is stripped, `data` lines join
/// with `\n`, and a pending event without its blank line is discarded at the
/// end of the stream. Lines and events are bounded.
package struct SSEParser: Sendable {
    package struct Limits: Sendable, Hashable {
        package var maxLineBytes: Int
        package var maxEventBytes: Int

        package static let `default` = Limits(maxLineBytes: 4 * 1024 * 1024, maxEventBytes: 8 * 1024 * 1024)

        package init(maxLineBytes: Int, maxEventBytes: Int) {
            self.maxLineBytes = maxLineBytes
            self.maxEventBytes = maxEventBytes
        }
    }

    package enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case lineTooLong(limit: Int)
        case eventTooLarge(limit: Int)

        package var description: String {
            switch self {
            case .lineTooLong(let limit): return "an SSE line exceeded \(limit) bytes"
            case .eventTooLarge(let limit): return "an SSE event exceeded \(limit) bytes"
            }
        }
    }

    package let limits: Limits
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var previousByteWasCR = false
    private var atStreamStart = true

    package init(limits: Limits = .default) {
        self.limits = limits
    }

    /// Feeds the next bytes of the stream, appending every event they complete to `events`.
    package mutating func feed(_ bytes: some Sequence<UInt8>, into events: inout [SSEEvent]) throws(Failure) {
        var failure: Failure?
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(Failure) {
                try self.feedContiguous(buffer, into: &events)
            } catch {
                failure = error
            }
        }
        if handled == nil {
            let array = Array(bytes)
            array.withUnsafeBufferPointer { buffer in
                do throws(Failure) {
                    try self.feedContiguous(buffer, into: &events)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Ends the stream. A pending event that never got its blank line is discarded.
    package mutating func finish() {
        self.line.removeAll()
        self.data.removeAll()
        self.hasData = false
        self.eventType = nil
        self.previousByteWasCR = false
    }

    private mutating func feedContiguous(_ buffer: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) throws(Failure) {
        var index = 0
        let count = buffer.count
        while index < count {
            if self.previousByteWasCR {
                self.previousByteWasCR = false
                if buffer[index] == 0x0A {
                    index += 1
                    continue
                }
            }
            // Find the next line terminator.
            var end = index
            while end < count && buffer[end] != 0x0A && buffer[end] != 0x0D { end += 1 }
            if end > index {
                if self.line.count + (end - index) > self.limits.maxLineBytes {
                    throw .lineTooLong(limit: self.limits.maxLineBytes)
                }
                self.line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<end]))
            }
            if end == count { return }
            self.previousByteWasCR = buffer[end] == 0x0D
            try self.processLine(into: &events)
            self.line.removeAll(keepingCapacity: true)
            index = end + 1
        }
    }

    private mutating func processLine(into events: inout [SSEEvent]) throws(Failure) {
        var start = 0
        if self.atStreamStart {
            self.atStreamStart = false
            if self.line.count >= 3 && self.line[0] == 0xEF && self.line[1] == 0xBB && self.line[2] == 0xBF {
                start = 3
            }
        }
        let count = self.line.count
        if start == count {
            self.dispatch(into: &events)
            return
        }
        if self.line[start] == UInt8(ascii: ":") { return }  // comment / keep-alive
        var colon = start
        while colon < count && self.line[colon] != UInt8(ascii: ":") { colon += 1 }
        var valueStart = min(colon + 1, count)
        if valueStart < count && self.line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let field = self.line[start..<colon]
        if field.elementsEqual("data".utf8) {
            let valueLength = colon < count ? count - valueStart : 0
            if self.data.count + valueLength + 1 > self.limits.maxEventBytes {
                throw .eventTooLarge(limit: self.limits.maxEventBytes)
            }
            if colon < count { self.data.append(contentsOf: self.line[valueStart..<count]) }
            self.data.append(0x0A)
            self.hasData = true
        } else if field.elementsEqual("event".utf8) {
            self.eventType = colon < count ? String(decoding: self.line[valueStart..<count], as: UTF8.self) : ""
        }
        // `id`, `retry` and unknown fields are ignored: no LLM provider relies on them.
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        defer {
            self.data.removeAll(keepingCapacity: true)
            self.hasData = false
            self.eventType = nil
        }
        guard self.hasData else { return }
        self.data.removeLast()  // the trailing line feed
        let type = (self.eventType?.isEmpty ?? true) ? nil : self.eventType
        events.append(SSEEvent(event: type, data: String(decoding: self.data, as: UTF8.self)))
    }
}
