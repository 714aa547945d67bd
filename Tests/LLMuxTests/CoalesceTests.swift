import Foundation
import LLMuxClient
@testable import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOConcurrencyHelpers
import Testing

/// `coalesce_ms`: the daemon merges a request's deltas within a window, for
/// editors that redraw per frame.
@Suite("Delta coalescing")
struct CoalesceTests {
    func deltas(_ log: FrameLog, _ id: String) -> [DeltaFrame] {
        log.frames(id).compactMap { if case .delta(let delta) = $0 { return delta } else { return nil } }
    }

    /// The full text of `count` counting chunks of `size` characters.
    func countingText(_ count: Int, size: Int) -> String {
        MockScript.counting(count, size: size).chunks.joined()
    }

    @Test(.tags(.realTime), .fullTierOnly) func helloWindowMergesDeltasAndAChatCanTurnItOff() async throws {
        // Alone: the bound below assumes the mock's 10 ms spacing holds. Under a loaded test run the
        // mock's deltas spread out, and a window then closes over fewer of them (a fresh-clone CI
        // run saw more than 10 frames).
        try await TestDaemon.with(exclusive: true) { daemon in
            // 40 deltas, 10 ms apart: 400 ms of output.
            daemon.mock.setDefaultScript(MockScript.counting(40, size: 4, intervalMs: 10))
            try await daemon.connect { connection in
                try await connection.send(line: #"{"type":"hello","protocol":[1],"client":"test","coalesce_ms":100}"#)
                try await connection.send(line: chatLine("merged"))
                try await connection.send(line: chatLine("each", extra: #","coalesce_ms":0"#))
                let log = try await FrameLog.read(from: connection, until: ["merged", "each"])
                #expect(log.isWellFormed("merged") && log.isWellFormed("each"))
                #expect(log.text("merged") == countingText(40, size: 4))
                #expect(log.text("each") == countingText(40, size: 4))
                let merged = deltas(log, "merged")
                // One delta at once, then at most one per 100 ms window over ~400 ms of output.
                #expect(merged.count >= 2 && merged.count <= 10, "\(merged.count) delta frames with a 100 ms window")
                #expect(merged.first?.text == "0000", "the first delta goes out at once, unmerged")
                #expect(deltas(log, "each").count == 40, "coalesce_ms 0 on the chat overrides the hello")
            }
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func chatWindowWithoutHelloAndTerminalFrameFlushesTheHeldDelta() async throws {
        // Alone: it measures that the done frame does not wait out a 1 s window.
        try await TestDaemon.with(exclusive: true) { daemon in
            // 5 deltas close together, then done: the window (1 s) is longer than the stream.
            daemon.mock.setDefaultScript(MockScript.counting(5, size: 3, intervalMs: 5))
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("r", extra: #","coalesce_ms":1000"#))
                var log = FrameLog()
                var firstDelta: ContinuousClock.Instant?
                var done: ContinuousClock.Instant?
                for try await received in connection.frames {
                    log.append(received.frame)
                    if case .delta = received.frame, firstDelta == nil { firstDelta = .now }
                    if received.frame.isTerminal {
                        done = .now
                        break
                    }
                }
                #expect(log.isWellFormed("r"))
                #expect(log.text("r") == countingText(5, size: 3))
                #expect(deltas(log, "r").count == 2, "the first delta, then the rest merged")
                if let firstDelta, let done {
                    // Waiting out the window would put the done frame 1 s after the first delta.
                    #expect(done - firstDelta < .milliseconds(950), "the done frame waited for the window: \(done - firstDelta)")
                }
                guard case .done? = log.terminal("r") else {
                    Issue.record("expected done, got \(String(describing: log.terminal("r")))")
                    return
                }
            }
        }
    }

    @Test func outOfRangeWindowIsInvalidRequest() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                try await connection.send(line: #"{"type":"hello","protocol":[1],"coalesce_ms":-1}"#)
                try await connection.send(line: chatLine("big", extra: #","coalesce_ms":1001"#))
                try await connection.send(line: chatLine("str", extra: #","coalesce_ms":"50""#))
                let log = try await FrameLog.read(from: connection, until: ["big", "str"], alsoWaitForUnidentified: 1)
                for id in ["big", "str"] {
                    guard case .error(_, let error)? = log.terminal(id) else {
                        Issue.record("\(id): expected an error")
                        continue
                    }
                    #expect(error.code == .invalidRequest)
                    #expect(error.message.contains("coalesce_ms"))
                    #expect(log.frames(id).count == 1)
                }
                guard case .error(_, let helloError)? = log.withoutID.first else {
                    Issue.record("expected an error for the hello")
                    return
                }
                #expect(helloError.code == .invalidRequest)
            }
            #expect(daemon.mock.requests.isEmpty)
        }
    }

    @Test func outboxHoldsDeltasUntilTheWindowIsReleased() async {
        let releases = NIOLockedValueBox<[@Sendable () -> Void]>([])
        let outbox = FrameOutbox(
            maxPendingBytes: 1 << 20,
            schedule: { _, body in releases.withLockedValue { $0.append(body) } },
            onOverflow: {}
        )
        func lines(_ buffer: ByteBuffer?) -> [ServerFrame] {
            guard let buffer else { return [] }
            return String(buffer: buffer).split(separator: "\n").map { try! ServerFrame.decode(line: Array($0.utf8)) }
        }
        outbox.coalesce("a", window: .seconds(60))
        outbox.send(.delta(DeltaFrame(id: "a", seq: 0, text: "one ")))
        #expect(lines(await outbox.next()).count == 1, "the first delta is not held")
        outbox.send(.delta(DeltaFrame(id: "a", seq: 0, text: "two ")))
        outbox.send(.delta(DeltaFrame(id: "a", seq: 0, text: "three ")))
        #expect(releases.withLockedValue { $0.count } == 1, "one release per held delta, however many merge into it")
        // Another request's delta goes out while a's stay held.
        outbox.send(.delta(DeltaFrame(id: "b", seq: 0, text: "b")))
        let onlyB = lines(await outbox.next())
        #expect(onlyB.count == 1 && onlyB.first?.id == "b")
        releases.withLockedValue { $0 }.forEach { $0() }
        let released = lines(await outbox.next())
        guard case .delta(let merged)? = released.first else {
            Issue.record("expected the merged delta, got \(released)")
            return
        }
        #expect(released.count == 1 && merged.text == "two three " && merged.seq == 1)
        outbox.close()
        #expect(await outbox.next() == nil)
    }

    /// The window on a clock the test moves: a delta less than a window after the last one sent
    /// is held for exactly the rest of the window; one that comes later goes out at once.
    @Test func theWindowIsMeasuredOnTheOutboxClock() async {
        let clock = NIOLockedValueBox(ContinuousClock.now)
        let delays = NIOLockedValueBox<[Duration]>([])
        let outbox = FrameOutbox(
            maxPendingBytes: 1 << 20,
            schedule: { delay, _ in delays.withLockedValue { $0.append(delay) } },
            now: { clock.withLockedValue { $0 } },
            onOverflow: {}
        )
        func advance(_ by: Duration) { clock.withLockedValue { $0 += by } }
        outbox.coalesce("a", window: .milliseconds(100))
        outbox.send(.delta(DeltaFrame(id: "a", seq: 0, text: "one ")))
        #expect(await outbox.next().map { String(buffer: $0) }?.contains("one ") == true)
        advance(.milliseconds(30))
        outbox.send(.delta(DeltaFrame(id: "a", seq: 0, text: "two ")))
        #expect(delays.withLockedValue { $0 } == [.milliseconds(70)], "held for the rest of the window")
        outbox.close()
        #expect(await outbox.next().map { String(buffer: $0) }?.contains("two ") == true, "close releases what is held")

        let later = FrameOutbox(
            maxPendingBytes: 1 << 20,
            schedule: { delay, _ in delays.withLockedValue { $0.append(delay) } },
            now: { clock.withLockedValue { $0 } },
            onOverflow: {}
        )
        delays.withLockedValue { $0 = [] }
        later.coalesce("b", window: .milliseconds(100))
        later.send(.delta(DeltaFrame(id: "b", seq: 0, text: "first")))
        _ = await later.next()
        advance(.milliseconds(100))
        later.send(.delta(DeltaFrame(id: "b", seq: 0, text: "second")))
        #expect(delays.withLockedValue { $0 }.isEmpty, "a delta a whole window after the last is not held")
        #expect(await later.next().map { String(buffer: $0) }?.contains("second") == true)
    }
}
