import Foundation
import LLMuxClient
import LLMuxConfig
@testable import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOConcurrencyHelpers
import Testing

/// The real daemon on a temporary socket against the mock upstream, over real sockets.
@Suite("Daemon end to end")
struct DaemonIntegrationTests {
    /// Sends one chat line and returns that request's frames.
    func chat(_ daemon: TestDaemon, id: String = "r", model: String = "mock/default", extra: String = "") async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: chatLine(id, model: model, extra: extra))
            return try await FrameLog.read(from: connection, until: [id])
        }
    }

    func terminalError(_ log: FrameLog, _ id: String) -> WireError? {
        if case .error(_, let error)? = log.terminal(id) { return error }
        return nil
    }

    @Test func streamsAnAnswerWithStartDeltasAndDone() async throws {
        try await TestDaemon.with { daemon in
            let log = try await chat(daemon, extra: #","temperature":0.2,"tools":[{"type":"function","function":{"name":"f"}}]"#)
            #expect(log.isWellFormed("r"))
            #expect(log.text("r") == "echo: hello r")
            guard case .start(_, let model, let provider, _)? = log.frames("r").first else {
                Issue.record("no start")
                return
            }
            #expect(model == "default")
            #expect(provider == "mock")
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("no done")
                return
            }
            #expect(done.finishReason == "stop")
            #expect(done.usage?.outputTokens == 3)
            #expect(done.timing.ttftMs != nil)

            let sent = try #require(daemon.mock.requests.last)
            #expect(sent.uri == "/v1/chat/completions")
            #expect(sent.header("authorization") == "Bearer \(TestDaemon.apiKey)")
            #expect(sent.body?["stream"] == true)
            #expect(sent.body?["stream_options"]?["include_usage"] == true)
            #expect(sent.body?["model"] == "default")
            #expect(sent.body?["temperature"] == 0.2)
            #expect(sent.body?["tools"]?.arrayValue?.count == 1)
        }
    }

    @Test func upstreamConnectionsAreReusedAcrossRequestsAndClients() async throws {
        try await TestDaemon.with { daemon in
            for round in 0..<3 {
                for client in 0..<3 {
                    let log = try await chat(daemon, id: "r\(round)-\(client)")
                    #expect(log.isWellFormed("r\(round)-\(client)"))
                }
            }
            let requests = daemon.mock.requests
            #expect(requests.count == 9)
            #expect(Set(requests.map(\.connectionID)).count == 1, "sequential requests should share one pooled connection")
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func manyLongStreamsToOneProviderRunAtOnce() async throws {
        // More concurrent streams than async-http-client pools per host by default (8),
        // each longer than the connect timeout: none may wait for another to finish.
        let timeouts = TimeoutConfig(connectMs: 1000, headerMs: 5000, firstTokenMs: 5000, idleMs: 5000, totalMs: 30_000)
        try await TestDaemon.with(exclusive: true, timeouts: timeouts) { daemon in
            daemon.mock.setDefaultScript(MockScript.counting(8, intervalMs: 150))
            let ids = (0..<24).map { "long\($0)" }
            let log = try await daemon.connect { connection in
                for id in ids { try await connection.send(line: chatLine(id)) }
                return try await FrameLog.read(from: connection, until: Set(ids))
            }
            for id in ids {
                if case .done = log.terminal(id) {} else { Issue.record("\(id) ended with \(String(describing: log.terminal(id)))") }
            }
            #expect(Set(daemon.mock.requests.map(\.connectionID)).count == 24)
        }
    }

    @Test func configuredModelNamesResolve() async throws {
        try await TestDaemon.with { daemon in
            let log = try await chat(daemon, model: "fast")
            #expect(log.isWellFormed("r"))
            #expect(daemon.mock.requests.last?.body?["model"] == "fast-upstream")
        }
    }

    @Test func connectionsOverMaxConnectionsAreRefused() async throws {
        try await TestDaemon.with(configure: { config, _ in config.maxConnections = 2 }) { daemon in
            try await daemon.connect { first in
                try await daemon.connect { second in
                    // Both open connections are served.
                    for connection in [first, second] {
                        try await connection.send(.ping(id: "p"))
                        for try await received in connection.frames { if case .pong = received.frame { break } }
                    }
                    let refusal = try await daemon.connect { third -> ServerFrame? in
                        for try await received in third.frames { return received.frame }
                        return nil
                    }
                    guard case .error(nil, let error)? = refusal else {
                        Issue.record("expected a refusal, got \(String(describing: refusal))")
                        return
                    }
                    #expect(error.code == .tooManyConnections)
                    #expect(error.retryable)
                }
            }
            // Once the daemon has seen those close, a new connection is served again.
            var pong = false
            for _ in 0..<100 where !pong {
                pong =
                    (try? await daemon.connect { connection -> Bool in
                        try await connection.send(.ping(id: "again"))
                        for try await received in connection.frames {
                            if case .pong = received.frame { return true }
                            if case .error = received.frame { return false }
                        }
                        return false
                    }) ?? false
                if !pong { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(pong)
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func hundredConcurrentRequestsOnOneConnection() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(firstTokenDelayMs: 100, intervalMs: 5))
            let ids = (0..<100).map { "c\($0)" }
            let log = try await daemon.connect { connection in
                var batch = ByteBuffer()
                for id in ids { batch.writeString(chatLine(id) + "\n") }
                try await connection.sendRaw(batch)
                return try await FrameLog.read(from: connection, until: Set(ids))
            }
            for id in ids {
                #expect(log.isWellFormed(id), "\(id) is not start, deltas in order, one terminal")
                #expect(log.text(id) == "echo: hello \(id)")
                if case .done = log.terminal(id) {} else { Issue.record("\(id) did not end with done") }
            }
            // The streams really ran side by side: the pool had to open a connection per concurrent request.
            let connections = daemon.mock.connections.count
            #expect(connections >= 50, "only \(connections) upstream connections: at most that many requests ran at once")
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func hundredRequestsSpreadOverTwentyConnections() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(intervalMs: 2))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connectionIndex in 0..<20 {
                    group.addTask {
                        let ids = (0..<5).map { "k\(connectionIndex)-\($0)" }
                        let log = try await daemon.connect { connection in
                            for id in ids { try await connection.send(line: chatLine(id)) }
                            return try await FrameLog.read(from: connection, until: Set(ids))
                        }
                        for id in ids {
                            #expect(log.isWellFormed(id))
                            #expect(log.text(id) == "echo: hello \(id)")
                        }
                        #expect(Set(log.byID.keys) == Set(ids), "frames of other connections leaked in")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func cancelEndsWithCancelledAndClosesTheUpstreamConnectionWithin100ms() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: Array(repeating: "tick ", count: 500), intervalMs: 20))
            let (cancelSentAt, log) = try await daemon.connect { connection -> (ContinuousClock.Instant, FrameLog) in
                try await connection.send(line: chatLine("long"))
                var log = FrameLog()
                var cancelSentAt: ContinuousClock.Instant?
                for try await received in connection.frames {
                    log.append(received.frame)
                    if case .delta(let delta) = received.frame, delta.seq == 2, cancelSentAt == nil {
                        cancelSentAt = .now
                        try await connection.send(.cancel(id: "long"))
                    }
                    if received.frame.isTerminal { break }
                }
                return (cancelSentAt!, log)
            }
            #expect(log.isWellFormed("long"))
            guard case .done(let done)? = log.terminal("long") else {
                Issue.record("cancel must end with done")
                return
            }
            #expect(done.finishReason == "cancelled")
            let connectionID = try #require(daemon.mock.requests.last?.connectionID)
            let closedAt = try #require(await daemon.mock.waitForClose(ofConnection: connectionID, timeout: .seconds(2)))
            #expect(closedAt - cancelSentAt < .milliseconds(100), "upstream closed \(closedAt - cancelSentAt) after cancel")
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func hangingUpClosesTheUpstreamConnectionWithin100ms() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: Array(repeating: "tick ", count: 500), intervalMs: 20))
            let hungUpAt = try await daemon.connect { connection -> ContinuousClock.Instant in
                try await connection.send(line: chatLine("long"))
                for try await received in connection.frames {
                    if case .delta(let delta) = received.frame, delta.seq == 2 { break }
                }
                return .now
            }
            let connectionID = try #require(daemon.mock.requests.last?.connectionID)
            let closedAt = try #require(await daemon.mock.waitForClose(ofConnection: connectionID, timeout: .seconds(2)))
            #expect(closedAt - hungUpAt < .milliseconds(100), "upstream closed \(closedAt - hungUpAt) after hang-up")
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func hangingUpBeforeTheFirstTokenStillClosesTheUpstream() async throws {
        try await TestDaemon.with(exclusive: true) { daemon in
            daemon.mock.setDefaultScript(MockScript(fault: .stallHeaders))
            let hungUpAt = try await daemon.connect { connection -> ContinuousClock.Instant in
                try await connection.send(line: chatLine("silent"))
                for try await received in connection.frames {
                    if case .start = received.frame { break }
                }
                // Let the upstream request reach the mock before hanging up.
                for _ in 0..<100 where daemon.mock.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                return .now
            }
            let connectionID = try #require(daemon.mock.requests.last?.connectionID)
            let closedAt = try #require(await daemon.mock.waitForClose(ofConnection: connectionID, timeout: .seconds(2)))
            #expect(closedAt - hungUpAt < .milliseconds(100))
        }
    }

    @Test func cancelOfUnknownOrFinishedIDIsANoOp() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("a"))
                try await connection.send(.cancel(id: "never-existed"))
                var log = try await FrameLog.read(from: connection, until: ["a"])
                try await connection.send(.cancel(id: "a"))
                try await connection.send(.ping(id: "p"))
                for try await received in connection.frames {
                    log.append(received.frame)
                    if case .pong = received.frame { break }
                }
                #expect(log.isWellFormed("a"))
                guard case .done(let done)? = log.terminal("a") else {
                    Issue.record("no done")
                    return
                }
                #expect(done.finishReason == "stop")
                #expect(log.frames("never-existed").isEmpty)
                #expect(log.frames("a").count(where: { $0.isTerminal }) == 1)
            }
        }
    }

    @Test func badInputGetsErrorsWhileOtherStreamsKeepFlowing() async throws {
        try await TestDaemon.with(limits: ProtocolLimits(maxLineBytes: 4096, maxInFlight: 64)) { daemon in
            // "good" streams 5 deltas, then stays in flight (silent upstream) until it is
            // cancelled at the end, so the bad lines always meet it running, however loaded the machine.
            var script = MockScript.counting(40, intervalMs: 5)
            script.fault = .stallAfterChunks(5)
            daemon.mock.setDefaultScript(script)
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("good"))
                var log = FrameLog()
                // Wait until the good stream is flowing.
                for try await received in connection.frames {
                    log.append(received.frame)
                    if case .delta = received.frame { break }
                }
                var garbage = ByteBuffer()
                garbage.writeString("this is not json\n")
                garbage.writeString(#"{"type":"chat","id":"bad1"}"# + "\n")
                garbage.writeString(#"{"type":"teleport","id":"bad2"}"# + "\n")
                garbage.writeString(#"{"type":"chat","id":"bad3","messages":[{"role":"user","content":"x"}],"temperature":"hot","timeout_ms":"soon"}"# + "\n")
                garbage.writeString(#"{"type":"chat","id":17,"messages":[]}"# + "\n")
                garbage.writeString(chatLine("good") + "\n")  // duplicate while in flight
                garbage.writeString(#"{"type":"chat","id":"huge","messages":[{"role":"user","content":""# + String(repeating: "x", count: 10_000) + "\"}]}\n")
                garbage.writeString(#"{"type":"ping","id":"after"}"# + "\n")
                try await connection.sendRaw(garbage)
                var sawPong = false
                var cancelSent = false
                for try await received in connection.frames {
                    log.append(received.frame)
                    if case .pong("after") = received.frame { sawPong = true }
                    // Cancel once the bad lines were all answered and the 5 deltas arrived.
                    let deltas = log.frames("good").count { if case .delta = $0 { return true } else { return false } }
                    if sawPong && deltas == 5 && !cancelSent {
                        cancelSent = true
                        try await connection.send(.cancel(id: "good"))
                    }
                    if sawPong && log.terminal("good") != nil { break }
                }
                #expect(log.isWellFormed("good"), "the good stream was disturbed")
                #expect(log.text("good") == "0000000000000001000000020000000300000004")
                if case .done(let done)? = log.terminal("good") {
                    #expect(done.finishReason == "cancelled")
                } else {
                    Issue.record("good must end with done after its cancel")
                }
                let codes = log.all.compactMap { frame -> String? in
                    guard case .error(let id, let error) = frame else { return nil }
                    return "\(id ?? "null"):\(error.code.rawValue)"
                }
                #expect(
                    codes == [
                        "null:parse_error", "bad1:invalid_request", "bad2:invalid_request", "bad3:invalid_request",
                        "null:invalid_request", "good:duplicate_id", "null:frame_too_large",
                    ])
                // The rejected duplicate did not end the original request early.
                #expect(log.frames("good").count(where: { if case .done = $0 { return true } else { return false } }) == 1)
            }
        }
    }

    @Test func linesUpToTheDefaultLimitAreAccepted() async throws {
        try await TestDaemon.with { daemon in
            let content = String(repeating: "x", count: 2 * 1024 * 1024)
            let log = try await daemon.connect { connection in
                try await connection.send(line: #"{"type":"chat","id":"big","messages":[{"role":"user","content":"\#(content)"}]}"#)
                return try await FrameLog.read(from: connection, until: ["big"])
            }
            #expect(log.isWellFormed("big"))
            let sent = try #require(daemon.mock.requests.last?.body?["messages"]?.arrayValue?.first?["content"]?.stringValue)
            #expect(sent.utf8.count == content.utf8.count)
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func aSlowReaderGetsMergedDeltasThenBackpressureAndOthersAreUnaffected() async throws {
        // Phase limits far beyond the test's length: it is about merging and backpressure, and under
        // AddressSanitizer the 20 floods keep both cores busy long enough for the last requests'
        // response heads to miss the default 10 s (seen: every stream ended with upstream_timeout).
        let patient = TimeoutConfig(connectMs: 10_000, headerMs: 120_000, firstTokenMs: 120_000, idleMs: 120_000, totalMs: 240_000)
        try await TestDaemon.with(exclusive: true, timeouts: patient, maxPendingBytes: 256 * 1024) { daemon in
            // One shared 256-byte string, 5,000 times: the mock itself holds almost nothing.
            daemon.mock.setScript(MockScript(chunks: Array(repeating: String(repeating: "x", count: 256), count: 5_000)), forModel: "flood")
            daemon.mock.setScript(MockScript.counting(200, intervalMs: 2), forModel: "polite")
            let ids = (0..<20).map { "f\($0)" }
            try await daemon.connect { slow in
                var batch = ByteBuffer()
                for id in ids { batch.writeString(chatLine(id, model: "mock/flood") + "\n") }
                try await slow.sendRaw(batch)
                // Never read: the socket buffers fill, then the outbox merges, then it stops streams.
                // Another client on its own connection streams normally meanwhile.
                let other = try await daemon.connect { connection in
                    try await connection.send(line: chatLine("p", model: "mock/polite"))
                    return try await FrameLog.read(from: connection, until: ["p"])
                }
                #expect(other.isWellFormed("p"))
                #expect(other.text("p").count == 200 * 8)
                try await Task.sleep(for: .seconds(1))
                // Reading now: every stream is well formed (seq without gaps through the merging), and
                // each either completed or was stopped with backpressure.
                let log = try await FrameLog.read(from: slow, until: Set(ids))
                var stopped: [String] = []
                for id in ids {
                    #expect(log.isWellFormed(id), "\(id) is not well formed")
                    switch log.terminal(id) {
                    case .error(_, let error)? where error.code == .backpressure:
                        stopped.append(id)
                    case .done?:
                        #expect(log.text(id).count == 5_000 * 256, "\(id) completed with missing text")
                    default:
                        Issue.record("\(id) ended with \(String(describing: log.terminal(id)))")
                    }
                }
                #expect(stopped.count >= 10, "only \(stopped.count) streams were stopped")
                // A stopped stream's upstream request is aborted.
                for id in stopped {
                    let request = daemon.mock.requests.first { request in
                        request.body?["messages"]?.arrayValue?.first?["content"]?.stringValue == "hello \(id)"
                    }
                    let connection = try #require(request?.connectionID)
                    #expect(await daemon.mock.waitForClose(ofConnection: connection, timeout: .seconds(5)) != nil, "\(id) upstream still open")
                }
                // Merging happened: far fewer delta frames than the upstream produced.
                let deltas = log.all.filter { if case .delta = $0 { return true } else { return false } }.count
                #expect(deltas < 20 * 5_000 / 2, "\(deltas) delta frames")
            }
            #expect(daemon.logText.contains("reads too slowly"))
        }
    }

    @Test func outboxMergesPerStreamAndNumbersSequences() async {
        let stopped = NIOLockedValueBox<[String]>([])
        let outbox = FrameOutbox(
            maxPendingBytes: 4096, mergeThresholdBytes: 100, schedule: { _, _ in }, onBackpressure: { id in stopped.withLockedValue { $0.append(id) } },
            onOverflow: {})
        // Below the threshold frames queue one by one; above it deltas of one id merge.
        for index in 0..<40 {
            outbox.send(.delta(DeltaFrame(id: index % 2 == 0 ? "a" : "b", seq: 999, text: "x\(index) ")))
        }
        // A duplicate_id rejection under a running id does not restart its numbering.
        outbox.send(.error(id: "a", WireError(.duplicateID, "dup")))
        outbox.send(.delta(DeltaFrame(id: "a", seq: 999, text: "tail ")))
        outbox.send(.done(DoneFrame(id: "a", finishReason: "stop", usage: nil, model: "m", provider: "p", timing: Timing(ttftMs: nil, totalMs: 1))))
        outbox.close()
        var log = FrameLog()
        var buffers = ByteBuffer()
        while var buffer = await outbox.next() { buffers.writeBuffer(&buffer) }
        for line in String(buffer: buffers).split(separator: "\n") {
            log.append(try! ServerFrame.decode(line: Array(line.utf8)))
        }
        let aDeltas = log.frames("a").compactMap { if case .delta(let d) = $0 { return d } else { return nil } }
        #expect(aDeltas.map(\.seq) == Array(0..<aDeltas.count), "the outbox numbers seq without gaps")
        #expect(aDeltas.count < 20, "deltas were merged")
        #expect(aDeltas.compactMap(\.text).joined() == (0..<40).filter { $0 % 2 == 0 }.map { "x\($0) " }.joined() + "tail ")
        #expect(log.frames("a").last.map { if case .done = $0 { return true } else { return false } } == true)
        #expect(
            log.frames("b").compactMap { if case .delta(let d) = $0 { return d.text } else { return nil } }.joined()
                == (0..<40).filter { $0 % 2 == 1 }.map { "x\($0) " }.joined())
        #expect(stopped.withLockedValue { $0 }.isEmpty)
    }

    @Test func tooManyInflightOnOneConnection() async throws {
        try await TestDaemon.with(limits: ProtocolLimits(maxLineBytes: 4096, maxInFlight: 2)) { daemon in
            daemon.mock.setDefaultScript(MockScript.counting(5, intervalMs: 30))
            try await daemon.connect { connection in
                for id in ["a", "b", "c"] { try await connection.send(line: chatLine(id)) }
                let log = try await FrameLog.read(from: connection, until: ["a", "b", "c"])
                #expect(log.isWellFormed("a") && log.isWellFormed("b"))
                #expect(terminalError(log, "c")?.code == .tooManyInflight)
                #expect(terminalError(log, "c")?.retryable == true)
            }
        }
    }

    @Test func unknownModelIsOneErrorFrameWithoutStart() async throws {
        try await TestDaemon.with { daemon in
            let log = try await chat(daemon, model: "nonsense")
            #expect(log.frames("r").count == 1)
            #expect(terminalError(log, "r")?.code == .unknownModel)
            #expect(daemon.mock.requests.isEmpty)
        }
    }

    struct UpstreamHTTPCase: Sendable, CustomTestStringConvertible {
        var status: Int
        var headers: [String: String] = [:]
        var code: WireErrorCode
        var retryable: Bool
        var retryAfterMs: Int?
        var message: String
        var testDescription: String { "HTTP \(status)" }
    }

    @Test(arguments: [
        UpstreamHTTPCase(status: 429, headers: ["retry-after": "2"], code: .upstreamHTTP, retryable: true, retryAfterMs: 2000, message: "Rate limit reached"),
        UpstreamHTTPCase(
            status: 503, headers: ["retry-after-ms": "1500"], code: .upstreamHTTP, retryable: true, retryAfterMs: 1500, message: "Rate limit reached"),
        UpstreamHTTPCase(status: 400, code: .upstreamHTTP, retryable: false, message: "Rate limit reached"),
        UpstreamHTTPCase(status: 404, code: .upstreamHTTP, retryable: false, message: "Rate limit reached"),
        UpstreamHTTPCase(status: 401, code: .authFailed, retryable: false, message: "Incorrect API key provided: <redacted>"),
        UpstreamHTTPCase(status: 529, code: .upstreamHTTP, retryable: true, message: "Rate limit reached"),
    ])
    func upstreamHTTPErrorsMapToErrorFrames(_ testCase: UpstreamHTTPCase) async throws {
        try await TestDaemon.with { daemon in
            let body =
                testCase.status == 401
                ? #"{"error":{"message":"Incorrect API key provided: \#(TestDaemon.apiKey)","type":"invalid_request_error"}}"#
                : #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit"}}"#
            daemon.mock.setDefaultScript(.httpError(testCase.status, body: body, headers: testCase.headers))
            // A Retry-After on the last target is waited out once; the second answer is reported.
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            let error = try #require(terminalError(log, "r"))
            #expect(error.code == testCase.code)
            #expect(error.httpStatus == testCase.status)
            #expect(error.retryable == testCase.retryable)
            #expect(error.retryAfterMs == testCase.retryAfterMs)
            #expect(error.message.contains(testCase.message), "\(error.message)")
            #expect(!error.message.contains(TestDaemon.apiKey))
            #expect(!daemon.logText.contains(TestDaemon.apiKey))
        }
    }

    struct StreamFaultCase: Sendable, CustomTestStringConvertible {
        var fault: MockScript.Fault
        var code: WireErrorCode
        var deltasBefore: Int
        var testDescription: String { "\(fault)" }
    }

    @Test(arguments: [
        StreamFaultCase(fault: .endAfterChunks(3), code: .upstreamTruncated, deltasBefore: 3),
        StreamFaultCase(fault: .resetAfterChunks(2), code: .upstreamTruncated, deltasBefore: 2),
        StreamFaultCase(fault: .malformedAfterChunks(1), code: .upstreamProtocol, deltasBefore: 1),
        StreamFaultCase(fault: .oversizedEventAfterChunks(1, bytes: 5 * 1024 * 1024), code: .upstreamProtocol, deltasBefore: 1),
        StreamFaultCase(fault: .errorEventAfterChunks(2, message: "model crashed"), code: .upstreamError, deltasBefore: 2),
        StreamFaultCase(fault: .resetBeforeHeaders, code: .upstreamConnect, deltasBefore: 0),
    ])
    func streamFaultsEndWithTheRightError(_ testCase: StreamFaultCase) async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript.counting(10)
            script.fault = testCase.fault
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            #expect(log.frames("r").count == testCase.deltasBefore + 2)
            let error = try #require(terminalError(log, "r"))
            // After a delta the failure never looks like a clean end: upstream_interrupted, partial, with its cause.
            if testCase.deltasBefore > 0 {
                #expect(error.code == .upstreamInterrupted)
                #expect(error.partial)
                #expect(error.cause == testCase.code)
            } else {
                #expect(error.code == testCase.code)
                #expect(!error.partial)
            }
            #expect(error.retryable == (testCase.code != .upstreamProtocol))
            #expect(error.attempts?.count == 1)
        }
    }

    @Test func streamWithoutDoneButWithFinishReasonIsComplete() async throws {
        try await TestDaemon.with { daemon in
            var script = MockScript.counting(3)
            script.sendDone = false
            script.keepAliveComments = 2
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon)
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("expected done")
                return
            }
            #expect(done.finishReason == "stop")
            #expect(log.text("r") == "000000000000000100000002")
        }
    }

    @Test func refusedConnectionIsUpstreamConnect() async throws {
        // A port bound but not listening refuses connections, and no other test can take it meanwhile.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound)
        let closedPort = Int(UInt16(bigEndian: address.sin_port))
        try await TestDaemon.with(configure: { config, _ in
            config.providers["dead"] = ProviderConfig(name: "dead", baseURL: "http://127.0.0.1:\(closedPort)/v1", keySource: .none)
        }) { daemon in
            let log = try await chat(daemon, model: "dead/x")
            #expect(log.isWellFormed("r"))
            #expect(terminalError(log, "r")?.code == .upstreamConnect)
            #expect(terminalError(log, "r")?.retryable == true)
        }
    }

    struct TimeoutCase: Sendable, CustomTestStringConvertible {
        var script: MockScript
        var timeouts: TimeoutConfig
        var extra: String = ""
        var phaseText: String
        var code: WireErrorCode = .upstreamTimeout
        var testDescription: String { phaseText }
    }

    @Test(
        .tags(.realTime), .fullTierOnly,
        arguments: [
            TimeoutCase(
                script: MockScript(fault: .stallHeaders), timeouts: .init(connectMs: 1000, headerMs: 300, firstTokenMs: nil, idleMs: nil, totalMs: nil),
                phaseText: "no response head"),
            TimeoutCase(
                script: MockScript(firstTokenDelayMs: 3000), timeouts: .init(connectMs: 1000, headerMs: nil, firstTokenMs: 300, idleMs: nil, totalMs: nil),
                phaseText: "no first token"),
            TimeoutCase(
                script: MockScript(chunks: ["a", "b", "c"], fault: .stallAfterChunks(2)),
                timeouts: .init(connectMs: 1000, headerMs: nil, firstTokenMs: nil, idleMs: 300, totalMs: nil), phaseText: "stalled", code: .upstreamInterrupted),
            TimeoutCase(
                script: MockScript.counting(100, intervalMs: 50), timeouts: .init(connectMs: 1000, headerMs: nil, firstTokenMs: nil, idleMs: nil, totalMs: nil),
                extra: #","timeout_ms":300"#, phaseText: "total time limit of 300 ms"),
        ])
    func phaseTimeouts(_ testCase: TimeoutCase) async throws {
        try await TestDaemon.with(exclusive: true, timeouts: testCase.timeouts) { daemon in
            daemon.mock.setDefaultScript(testCase.script)
            let started = ContinuousClock.now
            let log = try await chat(daemon, extra: testCase.extra)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(log.isWellFormed("r"))
            let error = try #require(terminalError(log, "r"))
            #expect(error.code == testCase.code)
            #expect(error.message.contains(testCase.phaseText), "\(error.message)")
            // The timed-out upstream request is aborted, not left running.
            let connectionID = try #require(daemon.mock.requests.last?.connectionID)
            #expect(await daemon.mock.waitForClose(ofConnection: connectionID, timeout: .seconds(1)) != nil)
        }
    }

    @Test func requestLogsNameTheClientFromHello() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                try await connection.send(.hello(ClientHello(protocols: [1], client: "nvim-test")))
                try await connection.send(line: chatLine("c1"))
                _ = try await FrameLog.read(from: connection, until: ["c1"])
            }
            let done = daemon.logs.entries.first { "\($0.message)" == "request done" }
            #expect(done?.metadata["client"] == "nvim-test")
            #expect(done?.metadata["request_id"] == "c1")
            #expect(done?.metadata["outcome"] == "stop")
        }
    }

    @Test func helloPingModelsStatus() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                try await connection.send(.hello(ClientHello(protocols: [1], client: "test")))
                try await connection.send(.ping(id: "p"))
                try await connection.send(.models(id: "m"))
                try await connection.send(.status(id: "s"))
                try await connection.send(line: #"{"type":"hello","protocol":[7]}"#)
                var frames: [ServerFrame] = []
                for try await received in connection.frames {
                    frames.append(received.frame)
                    if frames.count == 5 { break }
                }
                guard case .hello(let hello) = frames[0] else {
                    Issue.record("no hello")
                    return
                }
                #expect(hello.protocolVersion == 1)
                #expect(hello.limits == .default)
                #expect(frames[1] == .pong(id: "p"))
                guard case .models(_, let models, let defaultModel) = frames[2] else {
                    Issue.record("no models")
                    return
                }
                #expect(models.map(\.id).contains("fast"))
                #expect(defaultModel == "mock/default")
                guard case .status(_, let status) = frames[3] else {
                    Issue.record("no status")
                    return
                }
                #expect(status.connections == 1)
                #expect(status.providers == ["mock"])
                guard case .error(nil, let error) = frames[4] else {
                    Issue.record("no error")
                    return
                }
                #expect(error.code == .unsupportedProtocol)
            }
        }
    }

    @Test func halfClosedClientStillGetsItsAnswers() async throws {
        try await TestDaemon.with { daemon in
            // Like `printf '...' | socat - UNIX-CONNECT:...`: write, shut down the write side, read.
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            let connected = SocketLocation.withAddress(daemon.socketPath) { connect(fd, $0, $1) }
            #expect(connected == 0)
            let request = chatLine("x") + "\n" + chatLine("y")  // no final newline
            _ = request.withCString { write(fd, $0, strlen($0)) }
            shutdown(fd, Int32(SHUT_WR))
            var received = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { break }
                received.append(contentsOf: chunk[0..<n])
            }
            var log = FrameLog()
            for line in received.split(separator: UInt8(ascii: "\n")) {
                log.append(try ServerFrame.decode(line: line))
            }
            #expect(log.isWellFormed("x") && log.isWellFormed("y"))
            #expect(log.text("y") == "echo: hello y")
        }
    }

    @Test func keyNeverAppearsInLogsOrFrames() async throws {
        try await TestDaemon.with { daemon in
            daemon.mock.setScript(.httpError(401, body: #"{"error":{"message":"bad key \#(TestDaemon.apiKey)"}}"#), forModel: "deny")
            let raw = try await daemon.connect { connection -> String in
                try await connection.send(line: chatLine("ok"))
                try await connection.send(line: chatLine("no", model: "mock/deny"))
                var lines: [String] = []
                var pending: Set<String> = ["ok", "no"]
                for try await received in connection.frames {
                    lines.append(received.raw)
                    if received.frame.isTerminal, let id = received.frame.id { pending.remove(id) }
                    if pending.isEmpty { break }
                }
                return lines.joined(separator: "\n")
            }
            #expect(raw.contains("<redacted>"))
            #expect(!raw.contains(TestDaemon.apiKey))
            #expect(!daemon.logText.isEmpty)
            #expect(!daemon.logText.contains(TestDaemon.apiKey))
        }
    }
}
