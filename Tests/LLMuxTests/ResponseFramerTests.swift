@testable import LLMuxEngine
import LLMuxWire
import NIOConcurrencyHelpers
import Testing

/// The frame contract of one request, held by `ResponseFramer`: `start`
/// first and once, `seq` from 0 without gaps, one terminal frame, nothing after.
@Suite("Response framer")
struct ResponseFramerTests {
    final class Sink: Sendable {
        let frames = NIOLockedValueBox<[ServerFrame]>([])
        func append(_ frame: ServerFrame) { self.frames.withLockedValue { $0.append(frame) } }
        var kinds: [String] {
            self.frames.withLockedValue { frames in
                frames.map { frame in
                    switch frame {
                    case .start(_, let model, _, _): return "start \(model)"
                    case .delta(let delta): return "delta \(delta.seq) \(delta.text ?? "")"
                    case .done(let done): return "done \(done.finishReason)"
                    case .error(_, let error): return "error \(error.code.rawValue)"
                    default: return "other"
                    }
                }
            }
        }
    }

    static let start = ResponseFramer.Start(model: "m", provider: "p", route: nil)
    static let other = ResponseFramer.Start(model: "n", provider: "p", route: nil)

    func done() -> DoneFrame {
        DoneFrame(
            id: "r", finishReason: "stop", usage: Usage(inputTokens: 1, outputTokens: 1), model: "m", provider: "p", timing: Timing(ttftMs: nil, totalMs: 1))
    }

    @Test func startComesFirstAndOnceAndDeltasCountFromZero() {
        let sink = Sink()
        let framer = ResponseFramer(id: "r", sink: sink.append)
        #expect(framer.delta(text: "early", reasoning: nil, toolCalls: []) == false)
        framer.start(Self.start)
        framer.start(Self.other)
        #expect(framer.delta(text: "a", reasoning: nil, toolCalls: []))
        #expect(framer.delta(text: "b", reasoning: nil, toolCalls: []))
        framer.done(self.done(), start: Self.other)
        #expect(sink.kinds == ["start m", "delta 0 a", "delta 1 b", "done stop"])
        #expect(framer.deltasSent == 2)
    }

    @Test func nothingFollowsTheTerminalFrame() {
        let sink = Sink()
        let framer = ResponseFramer(id: "r", sink: sink.append)
        framer.fail(WireError(.upstreamConnect, "down"), start: Self.start)
        framer.start(Self.other)
        #expect(framer.delta(text: "late", reasoning: nil, toolCalls: []) == false)
        framer.done(self.done(), start: Self.start)
        framer.fail(WireError(.internal, "again"), start: nil)
        #expect(sink.kinds == ["start m", "error upstream_connect"])
    }

    @Test func aRefusalHasNoStart() {
        let sink = Sink()
        let framer = ResponseFramer(id: "r", sink: sink.append)
        framer.fail(WireError(.unknownModel, "no such model"), start: nil)
        #expect(sink.kinds == ["error unknown_model"])
    }

    /// Deltas written from many tasks at once still reach the sink numbered in the order it sees them.
    @Test func concurrentWritersNeverReorderSeq() async {
        let sink = Sink()
        let framer = ResponseFramer(id: "r", sink: sink.append)
        framer.start(Self.start)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<200 { framer.delta(text: "x", reasoning: nil, toolCalls: []) }
                }
            }
        }
        framer.done(self.done(), start: Self.start)
        let seqs = sink.frames.withLockedValue { $0.compactMap { if case .delta(let d) = $0 { return d.seq } else { return nil } } }
        #expect(seqs == Array(0..<1600))
        #expect(sink.kinds.last == "done stop")
    }
}
