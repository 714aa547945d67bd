import LLMuxMockScript
import LLMuxWire
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Serves one HTTP/1.1 connection of the mock upstream, request after request.
final class MockHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Step {
        /// A content delta, rendered as a chunk when it is written.
        case content(String)
        case data(String)
        /// `event: NAME` then `data: ...` (Anthropic's framing).
        case event(String, String)
        case comment(String)
        case reset
        case stall
        case finish
    }

    private let mock: MockUpstream
    private let connectionID: Int
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var scheduled: Scheduled<Void>?
    /// The model of the request being answered, echoed in its chunks.
    private var model = "mock"
    private var open = true
    /// Whether a streamed response is under way (see `MockUpstream.activeResponses`).
    private var responding = false
    /// Steps waiting for the connection to become writable again (backpressure).
    private var parked: ArraySlice<(delayMs: Int, step: Step)>?
    /// How many back-to-back steps are written before yielding the event loop.
    private static let batch = 128

    init(mock: MockUpstream, connectionID: Int) {
        self.mock = mock
        self.connectionID = connectionID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var chunk):
            self.body.writeBuffer(&chunk)
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            self.handle(head, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let parked = self.parked {
            self.parked = nil
            self.run(parked, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.endResponse()
        self.open = false
        self.parked = nil
        self.scheduled?.cancel()
        self.mock.connectionClosed(self.connectionID)
        context.fireChannelInactive()
    }

    /// A streamed response started: it counts in `MockUpstream.activeResponses` until it ends.
    private func beginResponse() {
        guard !self.responding else { return }
        self.responding = true
        self.mock.activeResponsesValue.add(1, ordering: .relaxed)
    }

    private func endResponse() {
        guard self.responding else { return }
        self.responding = false
        self.mock.activeResponsesValue.subtract(1, ordering: .relaxed)
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let json = try? JSONValue.parse(self.body.readableBytesView)
        self.mock.record(
            MockUpstream.RecordedRequest(
                method: head.method.rawValue,
                uri: head.uri,
                headers: head.headers.map { ($0.name, $0.value) },
                body: json,
                connectionID: self.connectionID
            )
        )
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        if head.method == .GET && path.hasSuffix("/models") {
            self.respond(status: .ok, body: #"{"object":"list","data":[{"id":"mock","object":"model","created":0,"owned_by":"llmux-mock"}]}"#, context: context)
            return
        }
        let anthropic = path.hasSuffix("/messages")
        let responses = path.hasSuffix("/responses")
        let embeddings = path.hasSuffix("/embeddings")
        // The legacy, fill-in-the-middle endpoint: text chunks instead of chat deltas.
        // Mistral's FIM answers in the chat shape.
        let mistralFIM = path.hasSuffix("/fim/completions")
        let completions = path.hasSuffix("/completions") && !path.hasSuffix("/chat/completions") && !mistralFIM
        let infill = path.hasSuffix("/infill")
        guard
            head.method == .POST
                && (path.hasSuffix("/chat/completions") || anthropic || responses || embeddings || completions || mistralFIM || infill)
        else {
            self.respond(status: .notFound, body: #"{"error":{"message":"no such endpoint","type":"invalid_request_error"}}"#, context: context)
            return
        }
        guard let json, case .object = json else {
            self.respond(status: .badRequest, body: #"{"error":{"message":"body is not a JSON object","type":"invalid_request_error"}}"#, context: context)
            return
        }
        let model = json["model"]?.stringValue
        self.model = model ?? "mock"
        let script = self.mock.script(forModel: model)
        if let required = script.requiredAuthorization, head.headers.first(name: "authorization") != required {
            self.respond(
                status: .unauthorized,
                body: #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
                context: context
            )
            return
        }
        if script.status != 200 {
            var headers = HTTPHeaders()
            for (name, value) in script.headers { headers.add(name: name, value: value) }
            let body =
                anthropic
                ? (["type": "error", "error": ["type": .string(Self.anthropicErrorType(script.status)), "message": "mock error"]] as JSONValue).jsonString
                : script.errorBody
            self.respond(status: HTTPResponseStatus(statusCode: script.status), body: body, headers: headers, context: context)
            return
        }
        switch script.fault {
        case .resetBeforeHeaders?:
            Self.reset(context)
            return
        case .stallHeaders?:
            self.beginResponse()
            return
        default:
            break
        }
        if embeddings {
            self.respond(status: .ok, body: Self.embeddings(for: json, model: model ?? "mock").jsonString, context: context)
            return
        }
        if script.wholeJSONCompletion {
            let body =
                responses
                ? Self.wholeResponse(for: script, model: model ?? "mock", request: json)
                : Self.wholeCompletion(for: script, model: model ?? "mock", request: json)
            self.respond(status: .ok, body: body, context: context)
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: script.streamContentType ?? "text/event-stream; charset=utf-8")
        headers.add(name: "cache-control", value: "no-cache")
        headers.add(name: "transfer-encoding", value: "chunked")
        for (name, value) in script.headers { headers.add(name: name, value: value) }
        self.beginResponse()
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        context.flush()
        let includeUsage = json["stream_options"]?["include_usage"]?.boolValue ?? false
        let steps =
            infill
            ? Self.infillSteps(for: script, request: json)
            : anthropic
                ? Self.anthropicSteps(for: script, model: model ?? "mock", request: json)
                : responses
                    ? Self.responsesSteps(for: script, model: model ?? "mock", request: json)
                    : Self.steps(for: script, model: model ?? "mock", request: json, includeUsage: includeUsage)
        var run = steps[...]
        if completions {
            for index in run.indices {
                if case .content(let text) = run[index].step { run[index].step = .data(Self.completionChunkJSON(model: model ?? "mock", text: text)) }
            }
        }
        if script.holdBodyOpenAfterDone, case .finish? = run.last?.step { run[run.endIndex - 1].step = .stall }
        self.run(run, context: context)
    }

    /// The mock's embeddings: for input `i` of `b` bytes, `dimensions` (default 4) components
    /// `((i * 7 + j * 3 + b) % 64 - 32) / 64`, exact in float32, so both encodings give them back
    /// exactly; `prompt_tokens` at 4 bytes a token.
    static func embeddings(for request: JSONValue, model: String) -> JSONValue {
        let inputs: [Int]
        switch request["input"] {
        case .string(let text)?: inputs = [text.utf8.count]
        case .array(let items)? where items.allSatisfy({ $0.intValue != nil }): inputs = [items.count * 4]
        case .array(let items)?: inputs = items.map { $0.stringValue?.utf8.count ?? ($0.arrayValue?.count ?? 1) * 4 }
        default: inputs = []
        }
        let dimensions = Int(request["dimensions"]?.intValue ?? 4)
        let data: [JSONValue] = inputs.enumerated().map { index, bytes in
            let vector: [JSONValue] = (0..<dimensions).map { j in
                let step: Int = (index * 7 + j * 3 + bytes) % 64
                return JSONValue.double(Double(step - 32) / 64)
            }
            return ["object": "embedding", "index": .int(Int64(index)), "embedding": .array(vector)]
        }
        let tokens = inputs.reduce(0) { $0 + ($1 + 3) / 4 }
        return [
            "object": "list", "data": .array(data), "model": .string(model),
            "usage": ["prompt_tokens": .int(Int64(tokens)), "total_tokens": .int(Int64(tokens))],
        ]
    }

    /// A whole Responses API response object: the one the stream's terminal event carries.
    static func wholeResponse(for script: MockScript, model: String, request: JSONValue) -> String {
        for (_, step) in Self.responsesSteps(for: script, model: model, request: request).reversed() {
            if case .event(let name, let payload) = step, name == "response.completed" || name == "response.incomplete",
                let response = (try? JSONValue.parse(payload))?["response"]
            {
                return response.jsonString
            }
        }
        return "{}"
    }

    /// The prompt tokens the mock reports for `request`: its messages' JSON, at 4 bytes a token.
    static func promptTokens(_ request: JSONValue) -> Int {
        MockScript.promptTokens(messageBytes: (request["messages"] ?? request["input"])?.jsonString.utf8.count ?? 4)
    }

    /// A whole `chat.completion`: the script's text as one message, its finish reason and usage.
    private static func wholeCompletion(for script: MockScript, model: String, request: JSONValue) -> String {
        let text = script.chunks.isEmpty ? "echo: " + (Self.lastUserText(request) ?? "") : script.chunks.joined()
        let promptTokens = Self.promptTokens(request)
        let completionTokens = max(1, script.chunks.count)
        let object: JSONValue = [
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": .string(model),
            "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": .string(script.finishReason)]],
            "usage": [
                "prompt_tokens": .int(Int64(promptTokens)), "completion_tokens": .int(Int64(completionTokens)),
                "total_tokens": .int(Int64(promptTokens + completionTokens)),
            ],
        ]
        return object.jsonString
    }

    /// Runs the steps in order: each `(delay, step)` waits its delay after the
    /// previous one. Back-to-back steps are written in batches, and writing
    /// pauses while the connection is not writable, so a fast script streams
    /// at the reader's pace without buffering the whole answer.
    /// `firstDelayDone` says the first step's delay has already passed.
    private func run(_ steps: ArraySlice<(delayMs: Int, step: Step)>, context: ChannelHandlerContext, firstDelayDone: Bool = false) {
        var remaining = steps
        var wroteSinceFlush = false
        var written = 0
        var delayDone = firstDelayDone
        while let (delay, step) = remaining.first {
            if written >= Self.batch {
                context.flush()
                if context.channel.isWritable {
                    let rest = remaining
                    context.eventLoop.assumeIsolated().execute {
                        guard self.open else { return }
                        self.run(rest, context: context)
                    }
                } else {
                    self.parked = remaining
                }
                return
            }
            written += 1
            if delay > 0 && !delayDone {
                if wroteSinceFlush { context.flush() }
                let rest = remaining
                let loop = context.eventLoop.assumeIsolated()
                self.scheduled = loop.scheduleTask(in: .milliseconds(Int64(delay))) {
                    guard self.open else { return }
                    self.run(rest, context: context, firstDelayDone: true)
                }
                return
            }
            delayDone = false
            remaining = remaining.dropFirst()
            switch step {
            case .content(let text):
                var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + 200)
                Self.writeContentChunk(text, model: self.model, into: &buffer)
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                wroteSinceFlush = true
            case .data(let payload):
                var buffer = context.channel.allocator.buffer(capacity: payload.utf8.count + 8)
                buffer.writeStaticString("data: ")
                buffer.writeString(payload)
                buffer.writeStaticString("\n\n")
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                wroteSinceFlush = true
            case .event(let name, let payload):
                let buffer = context.channel.allocator.buffer(string: "event: \(name)\ndata: \(payload)\n\n")
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                wroteSinceFlush = true
            case .comment(let text):
                let buffer = context.channel.allocator.buffer(string: ": \(text)\n\n")
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                wroteSinceFlush = true
            case .reset:
                context.flush()
                self.endResponse()
                Self.reset(context)
                return
            case .stall:
                context.flush()
                return
            case .finish:
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
                self.endResponse()
                return
            }
        }
        if wroteSinceFlush { context.flush() }
    }

    private static func steps(for script: MockScript, model: String, request: JSONValue, includeUsage: Bool) -> [(delayMs: Int, step: Step)] {
        var chunks = script.chunks
        if chunks.isEmpty && script.toolCalls.isEmpty {
            let prompt = Self.lastUserText(request) ?? ""
            chunks = Self.words("echo: \(prompt)")
        }
        var steps: [(delayMs: Int, step: Step)] = []
        steps.append((0, .data(Self.chunkJSON(model: model, delta: ["role": "assistant", "content": ""]))))
        for _ in 0..<script.keepAliveComments { steps.append((0, .comment("keep-alive"))) }
        for piece in script.reasoningChunks {
            steps.append((script.intervalMs, .data(Self.chunkJSON(model: model, delta: ["reasoning_content": .string(piece)]))))
        }
        for (index, text) in chunks.enumerated() {
            if let fault = script.fault, let faultStep = Self.faultStep(fault, at: index) {
                steps.append((index == 0 ? script.firstTokenDelayMs : script.intervalMs, faultStep))
                return steps
            }
            let delay = index == 0 ? script.firstTokenDelayMs : script.intervalMs
            steps.append((delay, .content(text)))
        }
        if let fault = script.fault, let faultStep = Self.faultStep(fault, at: chunks.count) {
            steps.append((script.intervalMs, faultStep))
            return steps
        }
        for (index, call) in script.toolCalls.enumerated() {
            let first: JSONValue = [
                "index": .int(Int64(index)), "id": .string(call.id), "type": "function",
                "function": ["name": .string(call.name), "arguments": ""],
            ]
            steps.append((script.intervalMs, .data(Self.chunkJSON(model: model, delta: ["tool_calls": [first]]))))
            let middle = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            for piece in [call.arguments[..<middle], call.arguments[middle...]] where !piece.isEmpty {
                let fragment: JSONValue = ["index": .int(Int64(index)), "function": ["arguments": .string(String(piece))]]
                steps.append((script.intervalMs, .data(Self.chunkJSON(model: model, delta: ["tool_calls": [fragment]]))))
            }
        }
        let finishReason = script.toolCalls.isEmpty ? script.finishReason : "tool_calls"
        steps.append((0, .data(Self.chunkJSON(model: model, delta: [:], finishReason: finishReason))))
        if includeUsage && script.sendUsage {
            // Prompt tokens count the cache writes too, as OpenAI-shaped usage does.
            let promptTokens = Self.promptTokens(request) + script.cacheWriteTokens
            let usage: JSONValue = [
                "prompt_tokens": .int(Int64(promptTokens)),
                "completion_tokens": .int(Int64(chunks.count)),
                "total_tokens": .int(Int64(promptTokens + chunks.count)),
                "prompt_tokens_details": ["cached_tokens": 0, "cache_write_tokens": .int(Int64(script.cacheWriteTokens))],
                "completion_tokens_details": ["reasoning_tokens": 0],
            ]
            let object: JSONValue = [
                "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": .string(model),
                "choices": [], "usage": usage,
            ]
            steps.append((0, .data(object.jsonString)))
        }
        if script.sendDone { steps.append((0, .data("[DONE]"))) }
        steps.append((0, .finish))
        return steps
    }

    static func anthropicErrorType(_ status: Int) -> String {
        switch status {
        case 400: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 529: return "overloaded_error"
        default: return "api_error"
        }
    }

    /// An Anthropic Messages stream: message_start (usage with cache tokens), an
    /// optional thinking block, a text block, one tool_use block per tool call
    /// (input_json_delta pieces), a ping, message_delta with the stop reason and
    /// the cumulative output tokens, message_stop. `errorEventAfterChunks` sends
    /// an `overloaded_error` event instead of the rest.
    private static func anthropicSteps(for script: MockScript, model: String, request: JSONValue) -> [(delayMs: Int, step: Step)] {
        var chunks = script.chunks
        if chunks.isEmpty && script.toolCalls.isEmpty {
            chunks = Self.words("echo: \(Self.lastUserText(request) ?? "")")
        }
        func event(_ type: String, _ fields: [String: JSONValue]) -> Step {
            var object = fields
            object["type"] = .string(type)
            return .event(type, JSONValue.object(object).jsonString)
        }
        let promptTokens = Self.promptTokens(request)
        var steps: [(delayMs: Int, step: Step)] = []
        steps.append(
            (
                0,
                event(
                    "message_start",
                    [
                        "message": [
                            "id": "msg_mock", "type": "message", "role": "assistant", "model": .string(model), "content": [],
                            "usage": [
                                "input_tokens": .int(Int64(promptTokens)), "cache_creation_input_tokens": .int(Int64(script.cacheWriteTokens)),
                                "cache_creation": [
                                    "ephemeral_5m_input_tokens": .int(Int64(script.cacheWriteTokens - script.cacheWrite1hTokens)),
                                    "ephemeral_1h_input_tokens": .int(Int64(script.cacheWrite1hTokens)),
                                ],
                                "cache_read_input_tokens": .int(Int64(script.cachedTokens)), "output_tokens": 1,
                            ],
                        ]
                    ])
            ))
        var block = 0
        var output = 0
        var delay = script.firstTokenDelayMs
        if !script.reasoningChunks.isEmpty {
            steps.append((0, event("content_block_start", ["index": .int(Int64(block)), "content_block": ["type": "thinking", "thinking": ""]])))
            for piece in script.reasoningChunks {
                steps.append(
                    (delay, event("content_block_delta", ["index": .int(Int64(block)), "delta": ["type": "thinking_delta", "thinking": .string(piece)]])))
                delay = script.intervalMs
                output += 1
            }
            steps.append((0, event("content_block_delta", ["index": .int(Int64(block)), "delta": ["type": "signature_delta", "signature": "c2lnbmF0dXJl"]])))
            steps.append((0, event("content_block_stop", ["index": .int(Int64(block))])))
            block += 1
        }
        for raw in script.rawAnthropicBlocks {
            steps.append((0, .event("content_block_start", #"{"type":"content_block_start","index":\#(block),"content_block":\#(raw)}"#)))
            steps.append((0, event("content_block_stop", ["index": .int(Int64(block))])))
            block += 1
        }
        if !script.rawAnthropicBlocks.isEmpty { steps.append((0, event("mock_future_event", ["note": "a type from a later API version"]))) }
        if !chunks.isEmpty {
            steps.append((0, event("content_block_start", ["index": .int(Int64(block)), "content_block": ["type": "text", "text": ""]])))
            for (index, text) in chunks.enumerated() {
                if case .errorEventAfterChunks(let k, let message)? = script.fault, k == index {
                    steps.append((delay, event("error", ["error": ["type": "overloaded_error", "message": .string(message)]])))
                    steps.append((0, .finish))
                    return steps
                }
                steps.append((delay, event("content_block_delta", ["index": .int(Int64(block)), "delta": ["type": "text_delta", "text": .string(text)]])))
                delay = script.intervalMs
                output += 1
            }
            steps.append((0, event("content_block_stop", ["index": .int(Int64(block))])))
            block += 1
        }
        steps.append((0, event("ping", [:])))
        for call in script.toolCalls {
            steps.append(
                (
                    delay,
                    event(
                        "content_block_start",
                        [
                            "index": .int(Int64(block)),
                            "content_block": ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": [:]],
                        ])
                ))
            delay = script.intervalMs
            let middle = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            for piece in ["", String(call.arguments[..<middle]), String(call.arguments[middle...])] {
                steps.append(
                    (
                        script.intervalMs,
                        event("content_block_delta", ["index": .int(Int64(block)), "delta": ["type": "input_json_delta", "partial_json": .string(piece)]])
                    ))
                output += 1
            }
            steps.append((0, event("content_block_stop", ["index": .int(Int64(block))])))
            block += 1
        }
        let stopReason = script.toolCalls.isEmpty ? (script.finishReason == "length" ? "max_tokens" : "end_turn") : "tool_use"
        steps.append(
            (
                0,
                event(
                    "message_delta",
                    [
                        "delta": ["stop_reason": .string(stopReason), "stop_sequence": .null],
                        "usage": ["output_tokens": .int(Int64(output))],
                    ])
            ))
        steps.append((0, event("message_stop", [:])))
        steps.append((0, .finish))
        return steps
    }

    /// An OpenAI Responses stream: response.created, an optional reasoning item (one summary
    /// part), a message item with its text deltas, one function_call item per tool call
    /// (arguments in two deltas), then response.completed with the usage, or
    /// response.incomplete for a `length` finish. `errorEventAfterChunks` sends
    /// response.failed instead of the rest; `endAfterChunks` ends the body there.
    private static func responsesSteps(for script: MockScript, model: String, request: JSONValue) -> [(delayMs: Int, step: Step)] {
        var chunks = script.chunks
        if chunks.isEmpty && script.toolCalls.isEmpty {
            chunks = Self.words("echo: \(Self.lastUserText(request) ?? "")")
        }
        var sequence = 0
        func event(_ type: String, _ fields: [String: JSONValue]) -> Step {
            var object = fields
            object["type"] = .string(type)
            object["sequence_number"] = .int(Int64(sequence))
            sequence += 1
            return .event(type, JSONValue.object(object).jsonString)
        }
        func response(_ status: String, extra: [String: JSONValue] = [:]) -> JSONValue {
            var object: [String: JSONValue] = ["id": "resp_mock", "object": "response", "status": .string(status), "model": .string(model), "output": []]
            for (key, value) in extra { object[key] = value }
            return .object(object)
        }
        var steps: [(delayMs: Int, step: Step)] = [(0, event("response.created", ["response": response("in_progress")]))]
        // The finished items, for the terminal event's response object (as OpenAI sends it).
        var finished: [JSONValue] = []
        var output = 0
        var delay = script.firstTokenDelayMs
        if !script.reasoningChunks.isEmpty {
            var item: [String: JSONValue] = ["id": "rs_mock", "type": "reasoning", "summary": []]
            // What OpenAI adds when the request includes it: reasoning to send back in a later turn.
            if request["include"]?.arrayValue?.contains("reasoning.encrypted_content") == true { item["encrypted_content"] = "gAAAA-mock-encrypted" }
            steps.append((0, event("response.output_item.added", ["output_index": .int(Int64(output)), "item": .object(item)])))
            item["summary"] = [["type": "summary_text", "text": .string(script.reasoningChunks.joined())]]
            finished.append(.object(item))
            steps.append((0, event("response.reasoning_summary_part.added", ["item_id": "rs_mock", "summary_index": 0])))
            for piece in script.reasoningChunks {
                steps.append((delay, event("response.reasoning_summary_text.delta", ["item_id": "rs_mock", "summary_index": 0, "delta": .string(piece)])))
                delay = script.intervalMs
            }
            output += 1
        }
        if !chunks.isEmpty {
            steps.append(
                (0, event("response.output_item.added", ["output_index": .int(Int64(output)), "item": ["id": "msg_mock", "type": "message", "content": []]])))
            for (index, text) in chunks.enumerated() {
                switch script.fault {
                case .errorEventAfterChunks(let k, let message)? where k == index:
                    steps.append(
                        (
                            delay,
                            event("response.failed", ["response": response("failed", extra: ["error": ["code": "server_error", "message": .string(message)]])])
                        ))
                    steps.append((0, .finish))
                    return steps
                case .endAfterChunks(let k)? where k == index:
                    steps.append((delay, .finish))
                    return steps
                default:
                    break
                }
                steps.append(
                    (delay, event("response.output_text.delta", ["item_id": "msg_mock", "output_index": .int(Int64(output)), "delta": .string(text)])))
                delay = script.intervalMs
            }
            finished.append([
                "id": "msg_mock", "type": "message", "role": "assistant", "status": "completed",
                "content": [["type": "output_text", "text": .string(chunks.joined()), "annotations": []]],
            ])
            output += 1
        }
        for (index, call) in script.toolCalls.enumerated() {
            let id = JSONValue.string("fc_mock_\(index)")
            steps.append(
                (
                    delay,
                    event(
                        "response.output_item.added",
                        [
                            "output_index": .int(Int64(output)),
                            "item": ["id": id, "type": "function_call", "call_id": .string(call.id), "name": .string(call.name), "arguments": ""],
                        ])
                ))
            finished.append([
                "id": id, "type": "function_call", "status": "completed", "call_id": .string(call.id), "name": .string(call.name),
                "arguments": .string(call.arguments),
            ])
            delay = script.intervalMs
            let middle = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            for piece in [call.arguments[..<middle], call.arguments[middle...]] where !piece.isEmpty {
                steps.append((script.intervalMs, event("response.function_call_arguments.delta", ["item_id": id, "delta": .string(String(piece))])))
            }
            output += 1
        }
        let promptTokens = Self.promptTokens(request)
        let usage: JSONValue = [
            "input_tokens": .int(Int64(promptTokens + script.cachedTokens)), "input_tokens_details": ["cached_tokens": .int(Int64(script.cachedTokens))],
            "output_tokens": .int(Int64(max(1, chunks.count))), "output_tokens_details": ["reasoning_tokens": .int(Int64(script.reasoningChunks.count))],
            "total_tokens": .int(Int64(promptTokens + script.cachedTokens + max(1, chunks.count))),
        ]
        if script.finishReason == "length" {
            steps.append(
                (
                    0,
                    event(
                        "response.incomplete",
                        [
                            "response": response(
                                "incomplete", extra: ["usage": usage, "incomplete_details": ["reason": "max_output_tokens"], "output": .array(finished)])
                        ])
                ))
        } else {
            steps.append((0, event("response.completed", ["response": response("completed", extra: ["usage": usage, "output": .array(finished)])])))
        }
        steps.append((0, .finish))
        return steps
    }

    /// The step that replaces content chunk `index` for a fault, if the fault strikes there.
    private static func faultStep(_ fault: MockScript.Fault, at index: Int) -> Step? {
        switch fault {
        case .resetAfterChunks(let k) where k == index: return .reset
        case .stallAfterChunks(let k) where k == index: return .stall
        case .malformedAfterChunks(let k) where k == index: return .data("{this is not json")
        case .oversizedEventAfterChunks(let k, let bytes) where k == index:
            return .data(String(repeating: "x", count: bytes))
        case .errorEventAfterChunks(let k, let message) where k == index:
            return .data((["error": ["message": .string(message), "type": "server_error"]] as JSONValue).jsonString)
        case .endAfterChunks(let k) where k == index: return .finish
        default: return nil
        }
    }

    /// `data: {chunk with one content delta}\n\n`, written straight into the buffer
    /// (the same shape `chunkJSON` produces, without building a JSON value per delta).
    static func writeContentChunk(_ text: String, model: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"data: {"choices":[{"delta":{"content":"#)
        JSONWriter.writeEscaped(text, into: &buffer)
        buffer.writeStaticString(#"},"finish_reason":null,"index":0}],"created":0,"id":"chatcmpl-mock","model":"#)
        JSONWriter.writeEscaped(model, into: &buffer)
        buffer.writeStaticString(#","object":"chat.completion.chunk"}"#)
        buffer.writeStaticString("\n\n")
    }

    /// llama.cpp's `/infill` stream: `{"content","stop":false}` per chunk, then `stop: true`
    /// with `stop_type` (`limit` for `finishReason: "length"`) and the token counts; no `[DONE]`.
    private static func infillSteps(for script: MockScript, request: JSONValue) -> [(delayMs: Int, step: Step)] {
        let chunks = script.chunks.isEmpty ? Self.words("echo: \(request["input_prefix"]?.stringValue ?? "")") : script.chunks
        var steps: [(delayMs: Int, step: Step)] = []
        for (index, text) in chunks.enumerated() {
            if let fault = script.fault, let step = Self.faultStep(fault, at: index) {
                steps.append((script.intervalMs, step))
                return steps
            }
            let payload: JSONValue = ["content": .string(text), "stop": false]
            steps.append((index == 0 ? script.firstTokenDelayMs : script.intervalMs, .data(payload.jsonString)))
        }
        let last: JSONValue = [
            "content": "", "stop": true, "stop_type": script.finishReason == "length" ? "limit" : "eos",
            "tokens_predicted": .int(Int64(chunks.count)), "tokens_evaluated": .int(Int64(Self.promptTokens(request))),
        ]
        steps.append((0, .data(last.jsonString)))
        steps.append((0, .finish))
        return steps
    }

    /// A `/completions` chunk: the text is the choice's own (`choices[0].text`).
    static func completionChunkJSON(model: String, text: String) -> String {
        let object: JSONValue = [
            "id": "cmpl-mock", "object": "text_completion", "created": 0, "model": .string(model),
            "choices": [["index": 0, "text": .string(text), "finish_reason": .null]],
        ]
        return object.jsonString
    }

    static func chunkJSON(model: String, delta: JSONValue, finishReason: String? = nil) -> String {
        let choice: JSONValue = [
            "index": 0,
            "delta": delta,
            "finish_reason": finishReason.map { .string($0) } ?? .null,
        ]
        let object: JSONValue = [
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": .string(model),
            "choices": [choice],
        ]
        return object.jsonString
    }

    static func lastUserText(_ request: JSONValue) -> String? {
        // Chat and Messages requests have `messages`; Responses requests `input` items.
        guard let messages = (request["messages"] ?? request["input"])?.arrayValue else {
            return request["input"]?.stringValue ?? request["prompt"]?.stringValue
        }
        for message in messages.reversed() where message["role"]?.stringValue == "user" {
            if let text = message["content"]?.stringValue { return text }
            if let parts = message["content"]?.arrayValue {
                return parts.compactMap { $0["text"]?.stringValue }.joined(separator: " ")
            }
        }
        return nil
    }

    /// Splits text into word-sized pieces that keep their following space.
    static func words(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    private func respond(status: HTTPResponseStatus, body: String, headers: HTTPHeaders = HTTPHeaders(), context: ChannelHandlerContext) {
        var headers = headers
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Closes with a TCP reset (SO_LINGER 0) instead of a clean FIN.
    private static func reset(_ context: ChannelHandlerContext) {
        let channel = context.channel
        guard let provider = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
