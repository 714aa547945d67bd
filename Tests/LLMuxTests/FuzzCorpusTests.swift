import Foundation
@testable import LLMuxFuzzing
import Testing

/// Replays the fuzz corpus (`Fuzz/Corpus/<target>`, seeds and inputs that once
/// broke an invariant) through the same checks the libFuzzer targets run.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let targets: [(name: String, check: @Sendable ([UInt8]) -> [String])] = [
        ("fuzz-frame-decoder", FrameDecoderFuzzTarget.run),
        ("fuzz-sse-parser", SSEParserFuzzTarget.run),
        ("fuzz-openai-chunks", StreamInterpreterFuzzTarget.openAI),
        ("fuzz-anthropic-events", StreamInterpreterFuzzTarget.anthropic),
        ("fuzz-json-parser", JSONParserFuzzTarget.run),
    ]

    @Test(arguments: targets.map(\.name))
    func corpusKeepsEveryInvariant(target: String) throws {
        let check = try #require(Self.targets.first { $0.name == target }?.check)
        let directory = RepositoryPaths.root + "/Fuzz/Corpus/" + target
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files.count >= 3, "the seed corpus of \(target) is missing")
        for file in files {
            let input = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            let violations = check(input)
            #expect(violations.isEmpty, "\(target)/\(file): \(violations)")
        }
    }

    /// The targets exercise what they claim to: seeds reach the decoders, not only their error paths.
    @Test func targetsReachTheDecoders() throws {
        let long = Array(repeating: UInt8(ascii: "a"), count: FrameDecoderFuzzTarget.maxLineBytes + 10) + [0x0A]
        let lines = try FrameDecoderFuzzTarget.decodeLines(long + Array(#"{"type":"ping","id":"p"}"#.utf8), readSize: 7)
        #expect(lines.count == 2)
        if case .tooLong? = lines.first {} else { Issue.record("an over-limit line is not reported: \(lines)") }
        if case .line(let line)? = lines.last {
            #expect(FrameDecoderFuzzTarget.checkFrame(line).isEmpty)
        } else {
            Issue.record("the last line without its newline was lost: \(lines)")
        }
        let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: RepositoryPaths.root + "/Tests/LLMuxTests/Fixtures/groq.sse")))
        let parsed = SSEParserFuzzTarget.parse(body, readSize: 5)
        #expect(parsed.failure == nil && parsed.events.count >= 3)
        #expect(StreamInterpreterFuzzTarget.roundTrip(.pong(id: "p")).isEmpty)
    }
}
