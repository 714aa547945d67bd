package import LLMuxWire
import Tracing

/// The span of one attempt: one HTTP request to one target, from its start to its end,
/// whether it answered, failed, timed out, lost a hedge race or was cancelled.
package struct AttemptSpan: Sendable {
    let span: any Span

    /// Ends the span. `record` is the attempt as the terminal frame lists it.
    package func ended(record: AttemptRecord?, usage: Usage?, finishReason: String?, timeToFirstToken: Duration?) {
        // Answered, cancelled or out-raced is no error; any other outcome is an error code.
        let failure = record.map(\.outcome).flatMap {
            [AttemptRecord.ok, AttemptRecord.cancelled, AttemptRecord.hedgeLost].contains($0) ? nil : $0
        }
        self.span.updateAttributes { attributes in
            if let record {
                attributes[GenAIConventions.attemptOutcome] = record.outcome
                if let status = record.httpStatus { attributes[GenAIConventions.httpStatusCode] = Int64(status) }
            }
            if let usage, !usage.estimated { GenAIConventions.setUsage(usage, on: &attributes) }
            if let finishReason { attributes[GenAIConventions.finishReasons] = [finishReason] }
            if let ttft = timeToFirstToken { attributes[GenAIConventions.timeToFirstTokenMs] = Int64(ttft.wholeMilliseconds) }
            if let failure { attributes[GenAIConventions.errorType] = failure }
        }
        if let failure { self.span.setStatus(SpanStatus(code: .error, message: failure)) }
        self.span.end()
    }
}
