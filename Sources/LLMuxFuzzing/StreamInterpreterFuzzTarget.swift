import LLMuxUpstream
import LLMuxWire
import NIOCore

/// Fuzz targets for the provider event decoders: each line of the input is the
/// data of one SSE event, fed to the OpenAI chunk decoder or the Anthropic
/// event decoder, one interpreter per input (they keep state across events).
///
/// Checked on every input: each delta has some output; every event the
/// decoder produces encodes to one protocol line (no raw newline) that decodes
/// back to the same frame, whatever text the upstream sent; tool-call
/// ordinals are never negative for Anthropic, which numbers them itself;
/// token counts are never negative, and cached and reasoning tokens never
/// exceed the input and output they are part of.
public enum StreamInterpreterFuzzTarget {
    public static func openAI(_ input: [UInt8]) -> [String] {
        Self.run(input, interpreter: OpenAIStreamInterpreter(), ownsToolOrdinals: false)
    }

    public static func anthropic(_ input: [UInt8]) -> [String] {
        Self.run(input, interpreter: AnthropicStreamInterpreter(), ownsToolOrdinals: true)
    }

    static func run(_ input: [UInt8], interpreter: some StreamInterpreter, ownsToolOrdinals: Bool) -> [String] {
        var interpreter = interpreter
        var violations: [String] = []
        var seq = 0
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: true) {
            // An optional "name\t" prefix sets the SSE event name (Anthropic names every event).
            var data = line[...]
            var name: String?
            if let tab = line.firstIndex(of: 0x09), tab - line.startIndex < 24 {
                name = String(decoding: line[line.startIndex..<tab], as: UTF8.self)
                data = line[(tab + 1)...]
            }
            let event = SSEEvent(event: name, data: String(decoding: data, as: UTF8.self))
            let produced: [UpstreamEvent]
            do {
                produced = try interpreter.interpret(event)
            } catch {
                continue
            }
            for item in produced {
                switch item {
                case .delta(let text, let reasoning, let toolCalls):
                    if (text ?? "").isEmpty && (reasoning ?? "").isEmpty && toolCalls.isEmpty {
                        violations.append("a delta without output")
                    }
                    if ownsToolOrdinals, toolCalls.contains(where: { $0.index < 0 }) {
                        violations.append("a negative tool-call ordinal")
                    }
                    violations += Self.roundTrip(.delta(DeltaFrame(id: "f", seq: seq, text: text, reasoning: reasoning, toolCalls: toolCalls)))
                    seq += 1
                case .finish(let reason):
                    let done = DoneFrame(id: "f", finishReason: reason, usage: nil, model: "m", provider: "p", timing: Timing(ttftMs: nil, totalMs: 0))
                    violations += Self.roundTrip(.done(done))
                case .error(let message):
                    violations += Self.roundTrip(.error(id: "f", WireError(.upstreamError, message, retryable: true)))
                case .usage(let usage):
                    if usage.inputTokens < 0 || usage.outputTokens < 0 || usage.cachedTokens < 0 || usage.reasoningTokens < 0 {
                        violations.append("negative token counts: \(usage)")
                    }
                    if usage.cachedTokens > usage.inputTokens || usage.reasoningTokens > usage.outputTokens {
                        violations.append("more cached or reasoning tokens than in total: \(usage)")
                    }
                case .end:
                    break
                case .reasoningState(let item):
                    if item["format"]?.stringValue == nil { violations.append("reasoning state without a format") }
                case .native, .embeddings:
                    // The reader and the embeddings answer add these, never an interpreter.
                    violations.append("an interpreter produced \(item)")
                }
            }
        }
        return violations
    }

    /// The frame as the daemon writes it must be one line that reads back as the same frame.
    static func roundTrip(_ frame: ServerFrame) -> [String] {
        var buffer = ByteBuffer()
        frame.encode(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        guard bytes.last == 0x0A, !bytes.dropLast().contains(0x0A) else { return ["an encoded frame is not exactly one line"] }
        do {
            let decoded = try ServerFrame.decode(line: bytes.dropLast())
            return decoded == frame ? [] : ["a frame changed in an encode/decode round trip: \(frame) -> \(decoded)"]
        } catch {
            return ["an encoded frame does not decode: \(error.error.message)"]
        }
    }
}
