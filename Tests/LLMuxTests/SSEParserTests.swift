import LLMuxUpstream
import Testing

@Suite("SSE parser (WHATWG event stream rules)")
struct SSEParserTests {
    func parse(_ pieces: [String], limits: SSEParser.Limits = .default) throws -> [SSEEvent] {
        var parser = SSEParser(limits: limits)
        var events: [SSEEvent] = []
        for piece in pieces { try parser.feed(Array(piece.utf8), into: &events) }
        parser.finish()
        return events
    }

    @Test func lfCrlfAndLoneCrAllEndLines() throws {
        #expect(try parse(["data: a\n\n"]) == [SSEEvent(data: "a")])
        #expect(try parse(["data: a\r\n\r\n"]) == [SSEEvent(data: "a")])
        #expect(try parse(["data: a\r\r"]) == [SSEEvent(data: "a")])
        #expect(try parse(["data: a\r\ndata: b\n\r\n"]) == [SSEEvent(data: "a\nb")])
    }

    @Test func crlfSplitAcrossTwoReadsIsOneLineEnd() throws {
        // If the trailing CR were not remembered, the LF would end a second (empty) line and
        // dispatch early; "data: b" would then become a separate event.
        let events = try parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"])
        #expect(events == [SSEEvent(data: "a\nb")])
    }

    @Test func byteByByteFeedingGivesTheSameEvents() throws {
        let stream = "event: x\r\ndata: {\"k\": 1}\r\n\r\n: ping\n\ndata: second\n\n"
        let whole = try parse([stream])
        let pieces = try parse(stream.map { String($0) })
        #expect(whole == pieces)
        #expect(whole == [SSEEvent(event: "x", data: "{\"k\": 1}"), SSEEvent(data: "second")])
    }

    @Test func leadingBOMIsDroppedOnce() throws {
        let bom = "\u{FEFF}"
        #expect(try parse([bom + "data: a\n\n"]) == [SSEEvent(data: "a")])
        // A BOM later in the stream is data, not skipped.
        #expect(try parse(["data: a\n\n", "data: \(bom)b\n\n"]) == [SSEEvent(data: "a"), SSEEvent(data: "\(bom)b")])
    }

    @Test func commentsAreIgnored() throws {
        let events = try parse([": OPENROUTER PROCESSING\n\n", ": keep-alive\n", "data: x\n", ": ping\n", "\n"])
        #expect(events == [SSEEvent(data: "x")])
    }

    @Test func exactlyOneSpaceAfterColonIsStripped() throws {
        #expect(try parse(["data:  two\n\n"]) == [SSEEvent(data: " two")])
        #expect(try parse(["data:none\n\n"]) == [SSEEvent(data: "none")])
    }

    @Test func lineWithoutColonIsFieldWithEmptyValue() throws {
        // "data" alone appends an empty line: two of them give "\n".
        #expect(try parse(["data\ndata\n\n"]) == [SSEEvent(data: "\n")])
        #expect(try parse(["data\n\n"]) == [SSEEvent(data: "")])
    }

    @Test func multiLineDataJoinsWithLineFeed() throws {
        #expect(try parse(["data: {\ndata: \"a\": 1\ndata: }\n\n"]) == [SSEEvent(data: "{\n\"a\": 1\n}")])
    }

    @Test func eventWithoutDataIsNotDispatched() throws {
        #expect(try parse(["event: ping\n\n", "id: 3\nretry: 10\n\n"]).isEmpty)
    }

    @Test func eventTypeIsKeptAndReset() throws {
        let events = try parse(["event: message_start\ndata: {}\n\ndata: plain\n\n"])
        #expect(events == [SSEEvent(event: "message_start", data: "{}"), SSEEvent(data: "plain")])
    }

    @Test func unknownFieldsAreIgnored() throws {
        #expect(try parse(["foo: bar\ndata: x\nid: 7\n\n"]) == [SSEEvent(data: "x")])
    }

    @Test func unterminatedFinalEventIsDiscarded() throws {
        #expect(try parse(["data: complete\n\n", "data: partial\n"]) == [SSEEvent(data: "complete")])
        #expect(try parse(["data: no newline at all"]).isEmpty)
    }

    @Test func utf8SplitAcrossReadsIsDecodedPerLine() throws {
        let bytes = Array("data: héllo ✓\n\n".utf8)
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for byte in bytes { try parser.feed([byte], into: &events) }
        #expect(events == [SSEEvent(data: "héllo ✓")])
    }

    @Test func lineLongerThanLimitFails() throws {
        let limits = SSEParser.Limits(maxLineBytes: 16, maxEventBytes: 1024)
        #expect(throws: SSEParser.Failure.lineTooLong(limit: 16)) {
            try parse(["data: 0123456789abcdef\n\n"], limits: limits)
        }
        // Split across reads the bound still holds.
        #expect(throws: SSEParser.Failure.lineTooLong(limit: 16)) {
            try parse(["data: 01234", "56789abcdef", "ghij\n\n"], limits: limits)
        }
    }

    @Test func eventLargerThanLimitFails() throws {
        let limits = SSEParser.Limits(maxLineBytes: 64, maxEventBytes: 20)
        #expect(throws: SSEParser.Failure.eventTooLarge(limit: 20)) {
            try parse(["data: 0123456789\ndata: 0123456789\n\n"], limits: limits)
        }
        #expect(try parse(["data: 012345678\n\n"], limits: limits) == [SSEEvent(data: "012345678")])
    }
}
