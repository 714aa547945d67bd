import LLMuxWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("Wire protocol codec")
struct WireCodecTests {
    func decodeClient(_ line: String) throws(FrameDecodingError) -> ClientFrame {
        try ClientFrame.decode(line: ByteBuffer(string: line))
    }

    func roundTrip(_ frame: ServerFrame) throws -> ServerFrame {
        var buffer = ByteBuffer()
        frame.encode(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(bytes.dropLast().contains(UInt8(ascii: "\n")) == false, "a frame must be exactly one line")
        return try ServerFrame.decode(line: bytes.dropLast())
    }

    @Test(arguments: [
        ServerFrame.hello(ServerHello(protocolVersion: 1, server: "llmuxd", version: "0.1.0", limits: .default)),
        .start(id: "a", model: "gpt-4o-mini", provider: "openai"),
        .delta(DeltaFrame(id: "a", seq: 0, text: "line one\nline \"two\"\t\u{1}")),
        .delta(DeltaFrame(id: "a", seq: 3, reasoning: "thinking…")),
        .delta(
            DeltaFrame(
                id: "a", seq: 4,
                toolCalls: [ToolCallFragment(index: 0, id: "call_1", name: "f", arguments: "{\"x\":"), ToolCallFragment(index: 1, arguments: "1}")])),
        .done(
            DoneFrame(
                id: "a", finishReason: "stop", usage: Usage(inputTokens: 3, outputTokens: 5, cachedTokens: 1, reasoningTokens: 2), model: "m", provider: "p",
                timing: Timing(ttftMs: 12, totalMs: 40))),
        .done(DoneFrame(id: "b", finishReason: "cancelled", usage: nil, model: "m", provider: "p", timing: Timing(ttftMs: nil, totalMs: 4))),
        .error(id: nil, WireError(.parseError, "bad")),
        .error(id: "c", WireError(.upstreamHTTP, "rate limited", retryable: true, httpStatus: 429, retryAfterMs: 2000)),
        .pong(id: "p"),
        .models(id: "m", models: [ModelInfo(id: "fast", provider: "openai", upstreamModel: "gpt-4o-mini")], defaultModel: "fast"),
        .status(id: "s", DaemonStatus(version: "0.1.0", pid: 42, uptimeMs: 1000, connections: 2, inFlight: 1, requestsTotal: 9, providers: ["openai"])),
    ])
    func serverFramesRoundTrip(_ frame: ServerFrame) throws {
        #expect(try roundTrip(frame) == frame)
    }

    @Test func clientFramesRoundTrip() throws {
        let frames: [ClientFrame] = [
            .hello(ClientHello(protocols: [1], client: "nvim")),
            .chat(
                ChatRequest(
                    id: "r1", model: "smart", messages: [["role": "user", "content": "hi"]], timeoutMs: 5000,
                    options: ["temperature": 0.5, "tools": [["type": "function"]], "seed": 9_007_199_254_740_993])),
            // Integral doubles stay doubles (the frame fuzzer found 0e-7 coming back as the integer 0).
            .chat(
                ChatRequest(
                    id: "r2", model: nil, messages: [["role": "user", "content": "hi"]],
                    options: ["temperature": .double(0), "top_p": .double(1), "big": .double(1e16), "neg": .double(-2)])),
            .cancel(id: "r1"), .ping(id: "p"), .models(id: "m"), .status(id: "s"),
        ]
        for frame in frames {
            var buffer = ByteBuffer()
            frame.encode(into: &buffer)
            let line = buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!
            #expect(try ClientFrame.decode(line: line) == frame)
        }
    }

    @Test func doublesAreWrittenAsDoubles() {
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.beginArray()
        for value in [0.0, 5.0, -2.0, 0.25, 1e16, 1.98e-05, .infinity] { writer.double(value) }
        writer.endArray()
        #expect(String(buffer: writer.buffer) == "[0.0,5.0,-2.0,0.25,1e+16,1.98e-05,null]")
    }

    @Test func outboundFramesAreCompactWithTypeFirst() {
        let line = ServerFrame.start(id: "a", model: "m", provider: "p").jsonLine
        #expect(line == #"{"type":"start","id":"a","model":"m","provider":"p"}"#)
    }

    @Test func chatPassesUnknownOpenAIFieldsThrough() throws {
        let frame = try decodeClient(
            #"{"type":"chat","id":"x","messages":[{"role":"user","content":"q"}],"tool_choice":"auto","max_tokens":5,"stream":true,"stream_options":{"include_usage":false},"future_field":{"a":[1,2]}}"#
        )
        guard case .chat(let request) = frame else {
            Issue.record("not a chat")
            return
        }
        #expect(request.options["tool_choice"] == "auto")
        #expect(request.options["max_tokens"] == 5)
        #expect(request.options["future_field"] == ["a": [1, 2]])
        #expect(request.options["stream"] == nil, "llmux owns stream and stream_options")
        #expect(request.options["stream_options"] == nil)
        #expect(request.model == nil)
    }

    @Test func helloIsOptionalFieldsAreLenient() throws {
        #expect(try decodeClient(#"{"type":"hello"}"#) == .hello(ClientHello(protocols: [1], client: nil)))
        #expect(try decodeClient(#"{"type":"ping","id":"p","unknown":1}"#) == .ping(id: "p"))
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var line: String
        var code: WireErrorCode
        var id: String?
        var testDescription: String { self.line }
    }

    @Test(arguments: [
        BadInput(line: "not json", code: .parseError, id: nil),
        BadInput(line: "[1,2]", code: .parseError, id: nil),
        BadInput(line: #"{"id":"a"}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"dance","id":"a"}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":7,"id":"a"}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":5,"messages":[]}"#, code: .invalidRequest, id: nil),
        BadInput(line: #"{"type":"chat","messages":[{"role":"user","content":"x"}]}"#, code: .invalidRequest, id: nil),
        BadInput(line: #"{"type":"chat","id":"a"}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","messages":"hi"}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","messages":[]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","messages":[{"content":"no role"}]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","model":3,"messages":[{"role":"user","content":"x"}]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","timeout_ms":-1,"messages":[{"role":"user","content":"x"}]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","n":2,"messages":[{"role":"user","content":"x"}]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"chat","id":"a","stream":false,"messages":[{"role":"user","content":"x"}]}"#, code: .invalidRequest, id: "a"),
        BadInput(line: #"{"type":"cancel"}"#, code: .invalidRequest, id: nil),
        BadInput(line: #"{"type":"hello","protocol":["one"]}"#, code: .invalidRequest, id: nil),
    ])
    func badInputGivesCodeAndReadableID(_ input: BadInput) {
        do {
            let frame = try decodeClient(input.line)
            Issue.record("decoded \(frame) from bad input")
        } catch {
            #expect(error.error.code == input.code)
            #expect(error.id == input.id)
            #expect(!error.error.message.isEmpty)
        }
    }

    /// A code from a newer daemon is kept as sent, not turned into `internal`.
    @Test func anUnknownErrorCodeSurvivesDecoding() throws {
        let line = #"{"type":"error","id":"r","code":"quota_paused","message":"later","cause":"other_new_code"}"#
        guard case .error(let id, let error) = try ServerFrame.decode(line: Array(line.utf8)) else {
            Issue.record("not an error frame")
            return
        }
        #expect(id == "r")
        #expect(error.code.rawValue == "quota_paused")
        #expect(error.code.isKnown == false)
        #expect(error.cause == WireErrorCode("other_new_code"))
        #expect(WireErrorCode.upstreamHTTP.isKnown)
    }

    @Test func embedAndEmbeddingsFramesRoundTrip() throws {
        let embed = try ClientFrame.decode(line: ByteBuffer(string: #"{"type":"embed","id":"e","model":"m","input":[[1,2],[3]],"dimensions":8}"#))
        guard case .chat(let request) = embed, case .embeddings(let input) = request.operation else {
            Issue.record("not an embed request: \(embed)")
            return
        }
        #expect(input.count == 2)
        #expect(request.options["dimensions"]?.intValue == 8)
        var line = ByteBuffer()
        embed.encode(into: &line)
        #expect(try ClientFrame.decode(line: line.getSlice(at: 0, length: line.readableBytes - 1)!) == embed)

        let answer = ServerFrame.embeddings(
            EmbeddingsFrame(
                id: "e", vectors: [[0.5, -0.25, 1e-07], [0.0, 3.0, -2.5]], usage: Usage(inputTokens: 4, outputTokens: 0), model: "m",
                provider: "p", route: "r", totalMs: 12, attempts: [AttemptRecord(target: "p/m", outcome: "ok", ms: 11)],
                cost: RequestCost(usd: 8e-08, estimated: false)))
        var out = ByteBuffer()
        answer.encode(into: &out)
        #expect(try ServerFrame.decode(line: Array(out.readableBytesView.dropLast())) == answer)
        #expect(answer.isTerminal)
    }

    @Test func everyErrorCodeIsDocumentedInProtocolMD() throws {
        let protocolText = try String(contentsOfFile: RepositoryPaths.root + "/protocol.md", encoding: .utf8)
        for code in WireErrorCode.known {
            #expect(protocolText.contains("`\(code.rawValue)`"), "protocol.md does not list \(code.rawValue)")
        }
    }
}

@Suite("NDJSON line framing")
struct NDJSONLineDecoderTests {
    func feed(_ chunks: [String], limit: Int = 16) throws -> [String] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NDJSONLineDecoder(maxLineBytes: limit)))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var out: [String] = []
        while let item = try channel.readInbound(as: NDJSONInbound.self) {
            switch item {
            case .line(let buffer): out.append(String(buffer: buffer))
            case .tooLong(let limit): out.append("<too long \(limit)>")
            }
        }
        _ = try channel.finish()
        while let item = try channel.readInbound(as: NDJSONInbound.self) {
            if case .line(let buffer) = item { out.append(String(buffer: buffer)) }
        }
        return out
    }

    @Test func splitsOnLineFeedOnly() throws {
        // CR, VT and FF are JSON whitespace or string content, never separators.
        #expect(try feed(["a\rb\n", "c\u{0B}d\u{0C}\n"]) == ["a\rb", "c\u{0B}d\u{0C}"])
    }

    @Test func linesSplitAcrossReadsAndBlankLinesSkipped() throws {
        #expect(try feed(["ab", "c\n\n  \nde", "f\n"]) == ["abc", "def"])
    }

    @Test func tooLongLineIsReportedSkippedAndTheNextLineSurvives() throws {
        #expect(try feed(["0123456789abcdefXYZ\nok\n"]) == ["<too long 16>", "ok"])
        // Arriving in pieces, reported once, skipped through its newline.
        #expect(try feed(["0123456789", "abcdefghij", "klmnop", "qr\nnext\n"]) == ["<too long 16>", "next"])
        // Exactly at the limit is fine.
        #expect(try feed(["0123456789abcdef\n"]) == ["0123456789abcdef"])
    }

    @Test func lastLineWithoutNewlineCountsAtEOF() throws {
        #expect(try feed(["one\ntwo"]) == ["one", "two"])
    }
}

enum RepositoryPaths {
    /// The package root, found from this file's location.
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
}

@Suite("protocol.md stays true to the code")
struct ProtocolDocumentTests {
    /// Every JSON frame shown in protocol.md (examples and the recorded session).
    func documentedFrames() throws -> (client: [String], server: [String]) {
        let text = try String(contentsOfFile: RepositoryPaths.root + "/protocol.md", encoding: .utf8)
        var client: [String] = []
        var server: [String] = []
        var inCode = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inCode.toggle()
                continue
            }
            guard inCode else { continue }
            if line.hasPrefix("C: {") {
                client.append(String(line.dropFirst(3)))
            } else if line.hasPrefix("S: {") {
                server.append(String(line.dropFirst(3)))
            } else if line.hasPrefix("{\"type\"") {
                // Bare examples: server frames carry fields clients never send.
                let type = (try? JSONValue.parse(String(line)))?["type"]?.stringValue
                let serverOnly: Set<String> = ["start", "delta", "done", "embeddings", "error", "pong", "reloaded"]
                let isServerHello = line.contains("\"server\":")
                let isServerList = (type == "models" && line.contains("\"default\"")) || (type == "status" && line.contains("\"uptime_ms\""))
                if serverOnly.contains(type ?? "") || isServerHello || isServerList { server.append(String(line)) } else { client.append(String(line)) }
            }
        }
        return (client, server)
    }

    @Test func everyDocumentedFrameDecodes() throws {
        let (client, server) = try documentedFrames()
        #expect(client.count >= 10)
        #expect(server.count >= 20)
        for line in client {
            #expect(throws: Never.self, "client frame in protocol.md does not decode: \(line)") {
                try ClientFrame.decode(line: ByteBuffer(string: line))
            }
        }
        for line in server {
            let frame = try ServerFrame.decode(line: Array(line.utf8))
            // The daemon writes exactly these bytes for this frame.
            #expect(frame.jsonLine == line, "protocol.md shows a frame the daemon would write differently")
        }
    }
}

@Suite("Client-side frame decoding")
struct ServerFrameDecodingTests {
    @Test func unknownFrameTypesAndFieldsFromANewerDaemonAreTolerated() throws {
        #expect(try ServerFrame.decodeIfKnown(line: Array(#"{"type":"progress","id":"a","percent":40}"#.utf8)) == nil)
        let delta = try ServerFrame.decodeIfKnown(line: Array(#"{"type":"delta","id":"a","seq":0,"text":"x","new_field":[1]}"#.utf8))
        #expect(delta == .delta(DeltaFrame(id: "a", seq: 0, text: "x")))
        let error = try ServerFrame.decode(line: Array(#"{"type":"error","id":null,"code":"brand_new_code","message":"m","retryable":true}"#.utf8))
        #expect(error == .error(id: nil, WireError(WireErrorCode("brand_new_code"), "m", retryable: true)))
    }

    @Test func framesMissingRequiredFieldsAreRejected() {
        #expect(throws: FrameDecodingError.self) { try ServerFrame.decode(line: Array(#"{"type":"delta","id":"a"}"#.utf8)) }
        #expect(throws: FrameDecodingError.self) { try ServerFrame.decode(line: Array(#"{"id":"a"}"#.utf8)) }
        #expect(throws: FrameDecodingError.self) { try ServerFrame.decode(line: Array("not json".utf8)) }
    }
}
