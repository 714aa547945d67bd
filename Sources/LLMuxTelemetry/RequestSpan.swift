package import LLMuxWire
import NIOConcurrencyHelpers
import Tracing

/// The span of one request, from its arrival to its terminal frame: what was asked, which
/// target answered, the tokens, the cost and the outcome. Each attempt is a child span.
///
/// Prompt and completion text are recorded only when the tracer captures content; otherwise
/// the span carries sizes, models and outcomes, never text.
package final class RequestSpan: Sendable {
    private let span: any Span
    private let tracer: any Tracer
    private let operation: String
    private let captureContent: Bool
    /// The text delivered so far, kept only when content is captured.
    private let output = NIOLockedValueBox("")

    init(span: any Span, tracer: any Tracer, operation: String, captureContent: Bool) {
        self.span = span
        self.tracer = tracer
        self.operation = operation
        self.captureContent = captureContent
    }

    /// Wraps a frame sink so that delivered text is kept for `gen_ai.output.messages`; the sink
    /// itself when content is not captured.
    package func observing(_ sink: @escaping @Sendable (ServerFrame) -> Void) -> @Sendable (ServerFrame) -> Void {
        guard self.captureContent else { return sink }
        return { frame in
            if case .delta(let delta) = frame, let text = delta.text, !text.isEmpty {
                self.output.withLockedValue { $0 += text }
            }
            sink(frame)
        }
    }

    /// The route (or model) the request resolved to, once the budget has had its say.
    package func resolved(route: String?, downgradedFrom: String?) {
        self.span.updateAttributes { attributes in
            if let route { attributes[GenAIConventions.route] = route }
            if let downgradedFrom { attributes[GenAIConventions.downgradedFrom] = downgradedFrom }
        }
    }

    /// A child span for attempt `index` at `provider`'s `model`, started now.
    package func attempt(index: Int, provider: String, model: String) -> AttemptSpan {
        let span = self.tracer.startSpan("\(self.operation) \(model)", context: self.span.context, ofKind: .client)
        span.updateAttributes { attributes in
            attributes[GenAIConventions.operationName] = self.operation
            attributes[GenAIConventions.providerName] = provider
            attributes[GenAIConventions.requestModel] = model
            attributes[GenAIConventions.attemptIndex] = Int64(index)
        }
        return AttemptSpan(span: span)
    }

    /// Refused before any upstream was asked (unknown model, over budget): the error ends the span.
    package func refused(_ error: WireError) {
        self.span.updateAttributes { attributes in
            attributes[GenAIConventions.outcome] = error.code.rawValue
            attributes[GenAIConventions.errorType] = error.code.rawValue
            attributes[GenAIConventions.attemptCount] = Int64(0)
        }
        self.span.setStatus(SpanStatus(code: .error, message: error.message))
        self.span.end()
    }

    /// How a request that ran ended.
    package struct Summary: Sendable {
        /// The target that answered (or the last one tried).
        package var provider: String
        package var model: String
        package var usage: Usage
        package var cost: RequestCost?
        /// `done`'s finish reason, or the error code.
        package var outcome: String
        /// `nil` when the request ended in an error.
        package var finishReason: String?
        package var error: WireError?
        package var attempts: [AttemptRecord]
        package var timeToFirstToken: Duration?

        package init(
            provider: String,
            model: String,
            usage: Usage,
            cost: RequestCost?,
            outcome: String,
            finishReason: String?,
            error: WireError?,
            attempts: [AttemptRecord],
            timeToFirstToken: Duration?
        ) {
            self.provider = provider
            self.model = model
            self.usage = usage
            self.cost = cost
            self.outcome = outcome
            self.finishReason = finishReason
            self.error = error
            self.attempts = attempts
            self.timeToFirstToken = timeToFirstToken
        }
    }

    /// Ends the span with what the terminal frame said.
    package func finished(_ summary: Summary) {
        let output = self.captureContent ? self.output.withLockedValue { $0 } : ""
        self.span.updateAttributes { attributes in
            attributes[GenAIConventions.providerName] = summary.provider
            attributes[GenAIConventions.responseModel] = summary.model
            GenAIConventions.setUsage(summary.usage, on: &attributes)
            if summary.usage.reasoningTokens > 0 {
                attributes[GenAIConventions.reasoningTokens] = Int64(summary.usage.reasoningTokens)
            }
            attributes[GenAIConventions.usageEstimated] = summary.usage.estimated
            if let cost = summary.cost {
                attributes[GenAIConventions.costUSD] = cost.usd
                attributes[GenAIConventions.costEstimated] = cost.estimated
            }
            attributes[GenAIConventions.outcome] = summary.outcome
            if let finishReason = summary.finishReason {
                attributes[GenAIConventions.finishReasons] = [finishReason]
            }
            attributes[GenAIConventions.attemptCount] = Int64(summary.attempts.count)
            if let ttft = summary.timeToFirstToken {
                attributes[GenAIConventions.timeToFirstTokenMs] = Int64(ttft.wholeMilliseconds)
            }
            if let error = summary.error { attributes[GenAIConventions.errorType] = error.code.rawValue }
            if self.captureContent, self.operation != "embeddings" {
                let message: JSONValue = .object([
                    "role": .string("assistant"),
                    "parts": .array([.object(["type": .string("text"), "content": .string(output)])]),
                    "finish_reason": .string(summary.finishReason ?? summary.outcome),
                ])
                attributes[GenAIConventions.outputMessages] = JSONValue.array([message]).jsonString
            }
        }
        // Targets passed over without being asked (cooldown, open breaker) have no attempt span.
        for record in summary.attempts where record.outcome == AttemptRecord.cooldown || record.outcome == AttemptRecord.circuitOpen {
            self.span.addEvent(
                SpanEvent(
                    name: GenAIConventions.skippedTargetEvent,
                    attributes: [GenAIConventions.target: .string(record.target), GenAIConventions.attemptOutcome: .string(record.outcome)]
                )
            )
        }
        if let error = summary.error { self.span.setStatus(SpanStatus(code: .error, message: error.message)) }
        self.span.end()
    }
}
