package import LLMuxWire
package import Tracing

/// Starts one span per request on a tracer (OpenTelemetry's in llmuxd, any other in tests).
/// The engine holds one when traces are on and none otherwise, so a daemon without traces does
/// no tracing work at all.
package struct RequestTracer: Sendable {
    package let tracer: any Tracer
    /// Prompt and completion text go into spans (`gen_ai.input.messages`, `gen_ai.output.messages`).
    package let captureContent: Bool

    package init(tracer: any Tracer, captureContent: Bool) {
        self.tracer = tracer
        self.captureContent = captureContent
    }

    /// The span of `request`, started now: `{gen_ai.operation.name} {model asked for}`, a server
    /// span (llmuxd serves it), parent of one client span per attempt.
    package func start(_ request: ChatRequest, client: String?) -> RequestSpan {
        let operation = GenAIConventions.operation(request.operation.capability)
        let name = request.model.map { "\(operation) \($0)" } ?? operation
        let span = self.tracer.startSpan(name, context: .topLevel, ofKind: .server)
        span.updateAttributes { attributes in
            attributes[GenAIConventions.operationName] = operation
            attributes[GenAIConventions.requestID] = request.id
            if let model = request.model { attributes[GenAIConventions.requestModel] = model }
            if let client { attributes[GenAIConventions.client] = client }
            let maxTokens = request.options["max_completion_tokens"] ?? request.options["max_tokens"]
            if let maxTokens = maxTokens?.intValue { attributes[GenAIConventions.requestMaxTokens] = maxTokens }
            if let temperature = request.options["temperature"]?.doubleValue {
                attributes[GenAIConventions.requestTemperature] = temperature
            }
            if let topP = request.options["top_p"]?.doubleValue { attributes[GenAIConventions.requestTopP] = topP }
            if self.captureContent, !request.messages.isEmpty {
                attributes[GenAIConventions.inputMessages] = JSONValue.array(request.messages).jsonString
            }
        }
        return RequestSpan(span: span, tracer: self.tracer, operation: operation, captureContent: self.captureContent)
    }
}
