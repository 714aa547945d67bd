#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LLMuxWire

/// Turns the SSE events of an OpenAI-compatible chat-completions stream into
/// `UpstreamEvent`s, tolerating the provider variants listed in the upstream
/// reference §3: no `object` check, empty or missing `choices`, usage on any
/// chunk (or inside `x_groq`), reasoning as `reasoning_content` or
/// `reasoning`, whole tool calls in one fragment, unknown keys and finish reasons.
public struct OpenAIStreamInterpreter: StreamInterpreter {
    public typealias Failure = StreamInterpreterFailure

    private let decoder = JSONDecoder()

    public init() {}

    public mutating func interpret(_ event: SSEEvent) throws(Failure) -> [UpstreamEvent] {
        let data = event.data
        if data == "[DONE]" { return [.end] }
        // Some servers name their events; only errors are meaningful then.
        let chunk: Chunk
        do {
            chunk = try self.decoder.decode(Chunk.self, from: Data(data.utf8))
        } catch {
            throw .invalidJSON(Self.preview(data))
        }
        var events: [UpstreamEvent] = []
        // A chunk can carry output and an error together (OpenRouter's mid-stream
        // errors, with finish_reason "error"): the output first, then the error.
        let failure = chunk.error.flatMap { $0.isNull ? nil : Self.errorMessage($0) }
        if event.event == "error" {
            events.append(.error(message: data))
            return events
        }
        var finish: String?
        for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
            if let delta = choice.delta {
                let text = delta.content.flatMap { $0.isEmpty ? nil : $0 } ?? delta.refusal.flatMap { $0.isEmpty ? nil : $0 }
                // reasoning_details (OpenRouter) only when neither plain field carries the same text.
                let details = (delta.reasoningDetails ?? []).compactMap { $0.text ?? $0.summary }.joined()
                let reasoning = (delta.reasoningContent ?? delta.reasoning ?? (details.isEmpty ? nil : details)).flatMap { $0.isEmpty ? nil : $0 }
                let calls = (delta.toolCalls ?? []).enumerated().map { position, call in
                    ToolCallFragment(
                        index: call.index ?? position,
                        id: call.id,
                        name: call.function?.name,
                        arguments: call.function?.arguments.flatMap { $0.isEmpty ? nil : $0 }
                    )
                }
                if text != nil || reasoning != nil || !calls.isEmpty {
                    events.append(.delta(text: text, reasoning: reasoning, toolCalls: calls))
                }
            }
            if let reason = choice.finishReason { finish = reason }
        }
        if let failure {
            events.append(.error(message: failure))
            return events
        }
        if let usage = chunk.usage ?? chunk.xGroq?.usage, let normalized = usage.normalized {
            events.append(.usage(normalized))
        }
        if let finish { events.append(.finish(reason: finish)) }
        return events
    }

    static func preview(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    static func errorMessage(_ error: JSONValue) -> String {
        switch error {
        case .string(let s): return s
        case .object(let o):
            let message = o["message"]?.stringValue ?? "unspecified error"
            if let type = o["type"]?.stringValue { return "\(message) (\(type))" }
            return message
        default: return error.jsonString
        }
    }

    // MARK: - Chunk shape (every field optional)

    struct Chunk: Decodable {
        var choices: [Choice]?
        var usage: UsageBody?
        var error: JSONValue?
        var xGroq: XGroq?

        enum CodingKeys: String, CodingKey {
            case choices, usage, error
            case xGroq = "x_groq"
        }
    }

    struct XGroq: Decodable {
        var usage: UsageBody?
    }

    struct Choice: Decodable {
        var index: Int?
        var delta: Delta?
        var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    struct Delta: Decodable {
        var content: String?
        var refusal: String?
        var reasoning: String?
        var reasoningContent: String?
        var reasoningDetails: [ReasoningDetail]?
        var toolCalls: [ToolCall]?

        enum CodingKeys: String, CodingKey {
            case content, refusal, reasoning
            case reasoningContent = "reasoning_content"
            case reasoningDetails = "reasoning_details"
            case toolCalls = "tool_calls"
        }
    }

    struct ReasoningDetail: Decodable {
        var text: String?
        var summary: String?
    }

    struct ToolCall: Decodable {
        var index: Int?
        var id: String?
        var function: Function?
    }

    struct Function: Decodable {
        var name: String?
        var arguments: String?
    }

    struct UsageBody: Decodable {
        var promptTokens: Int?
        var completionTokens: Int?
        var promptTokensDetails: PromptDetails?
        var completionTokensDetails: CompletionDetails?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case promptTokensDetails = "prompt_tokens_details"
            case completionTokensDetails = "completion_tokens_details"
        }

        var normalized: Usage? {
            guard promptTokens != nil || completionTokens != nil else { return nil }
            return Usage.fromUpstream(
                input: promptTokens,
                output: completionTokens,
                cached: promptTokensDetails?.cachedTokens,
                reasoning: completionTokensDetails?.reasoningTokens
            )
        }
    }

    struct PromptDetails: Decodable {
        var cachedTokens: Int?
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    struct CompletionDetails: Decodable {
        var reasoningTokens: Int?
        enum CodingKeys: String, CodingKey { case reasoningTokens = "reasoning_tokens" }
    }
}
