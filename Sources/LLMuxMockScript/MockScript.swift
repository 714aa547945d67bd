/// What a scripted upstream does with one chat-completions request: the mock
/// HTTP upstream (tests, benchmarks) and the built-in demo provider both play
/// these scripts, so `mock:` model specs mean the same to each.
public struct MockScript: Sendable, Hashable {
    /// A failure to inject.
    public enum Fault: Sendable, Hashable {
        /// Close with a TCP reset as soon as the request arrives (before any header).
        case resetBeforeHeaders
        /// Send the head and `chunks` content chunks, then reset the connection.
        case resetAfterChunks(Int)
        /// Never answer: the response head does not come.
        case stallHeaders
        /// Send the head and `chunks` content chunks, then go silent with the connection open.
        case stallAfterChunks(Int)
        /// After `chunks` content chunks, send an event whose data is not JSON.
        case malformedAfterChunks(Int)
        /// After `chunks` content chunks, send one data event of `bytes` bytes.
        case oversizedEventAfterChunks(Int, bytes: Int)
        /// After `chunks` content chunks, send `{"error":{...}}` as a data event.
        case errorEventAfterChunks(Int, message: String)
        /// After `chunks` content chunks, end the body cleanly: no finish_reason, no `[DONE]`.
        case endAfterChunks(Int)
    }

    /// The HTTP status; anything but 200 sends `errorBody` instead of a stream.
    public var status: Int = 200
    public var errorBody: String = #"{"error":{"message":"mock error","type":"server_error"}}"#
    /// Extra response headers (for example `retry-after`).
    public var headers: [String: String] = [:]
    /// The text of each content delta. Empty means: echo the last user message.
    public var chunks: [String] = []
    /// Delay before the first content chunk (after the head), in milliseconds.
    public var firstTokenDelayMs: Int = 0
    /// Delay between content chunks, in milliseconds.
    public var intervalMs: Int = 0
    public var finishReason: String = "stop"
    /// Send the usage chunk when the request asked for `stream_options.include_usage`.
    public var sendUsage: Bool = true
    /// Send `data: [DONE]` at the end.
    public var sendDone: Bool = true
    /// Send `: keep-alive` comments before the first chunk.
    public var keepAliveComments: Int = 0
    public var fault: Fault?
    /// When set, a request whose `authorization` header differs gets 401.
    public var requiredAuthorization: String?
    /// Tool calls streamed after the text chunks, OpenAI-style: a first fragment
    /// with id, type and name (arguments ""), then the arguments in two pieces.
    /// With tool calls the finish reason is `tool_calls`.
    public var toolCalls: [MockToolCall] = []
    /// Reasoning pieces streamed before the text (OpenAI: `reasoning_content`; Anthropic: a thinking block).
    public var reasoningChunks: [String] = []
    /// Prompt tokens reported as served from the cache (Anthropic: `cache_read_input_tokens`).
    public var cachedTokens = 0
    /// Prompt tokens reported as written to the cache (Anthropic: `cache_creation_input_tokens`,
    /// with the `cache_creation` breakdown; OpenAI shape: `prompt_tokens_details.cache_write_tokens`).
    public var cacheWriteTokens = 0
    /// The part of `cacheWriteTokens` written to the 1-hour cache.
    public var cacheWrite1hTokens = 0
    /// After `[DONE]` (Anthropic: `message_stop`), keep the chunked body open instead of ending it.
    public var holdBodyOpenAfterDone = false
    /// Answer with one `application/json` `chat.completion` (text, usage), as servers do that
    /// ignore `stream: true`.
    public var wholeJSONCompletion = false
    /// The content type of a streamed answer, instead of `text/event-stream`.
    public var streamContentType: String?
    /// Anthropic streams: content blocks sent whole (start and stop) after any thinking block,
    /// written into the events exactly as given (spacing too), such as server-tool blocks; then
    /// an event of a type no client knows (`mock_future_event`). For pass-through tests.
    public var rawAnthropicBlocks: [String] = []

    public init(
        status: Int = 200,
        chunks: [String] = [],
        firstTokenDelayMs: Int = 0,
        intervalMs: Int = 0,
        finishReason: String = "stop",
        headers: [String: String] = [:],
        fault: Fault? = nil
    ) {
        self.status = status
        self.chunks = chunks
        self.firstTokenDelayMs = firstTokenDelayMs
        self.intervalMs = intervalMs
        self.finishReason = finishReason
        self.headers = headers
        self.fault = fault
    }

    /// The prompt tokens a scripted upstream reports for messages of `messageBytes` bytes of
    /// JSON: 4 bytes a token, at least 1 (the mock and the demo report the same).
    public static func promptTokens(messageBytes: Int) -> Int {
        max(1, messageBytes / 4)
    }

    /// `count` chunks of `size` characters each, every one different: "00000", "00001", ...
    public static func counting(_ count: Int, size: Int = 8, intervalMs: Int = 0) -> MockScript {
        var script = MockScript(intervalMs: intervalMs)
        script.chunks = (0..<count).map { i in
            let digits = String(i)
            return String(repeating: "0", count: max(0, size - digits.count)) + digits
        }
        return script
    }

    /// An HTTP error response.
    public static func httpError(_ status: Int, body: String? = nil, headers: [String: String] = [:]) -> MockScript {
        var script = MockScript(status: status, headers: headers)
        if let body { script.errorBody = body }
        return script
    }

    /// Reads a script from a model name such as
    /// `mock:chunks=100,size=8,interval_ms=5,ttft_ms=20` (for the standalone
    /// mock and benchmarks). Unknown keys are an error; `nil` if the name is not a `mock:` spec.
    public init?(spec model: String) throws(MockSpecError) {
        guard model.hasPrefix("mock:") else { return nil }
        var count = 10
        var size = 8
        var script = MockScript()
        for pair in model.dropFirst(5).split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Int(parts[1]), value >= 0 else {
                throw MockSpecError(message: "mock spec entry '\(pair)' must be key=non-negative-integer")
            }
            switch parts[0] {
            case "chunks": count = value
            case "size": size = max(1, value)
            case "interval_ms": script.intervalMs = value
            case "ttft_ms": script.firstTokenDelayMs = value
            case "status": script.status = value
            case "stall_after": script.fault = .stallAfterChunks(value)
            case "reset_after": script.fault = .resetAfterChunks(value)
            case "end_after": script.fault = .endAfterChunks(value)
            default: throw MockSpecError(message: "unknown mock spec key '\(parts[0])'")
            }
        }
        let interval = script.intervalMs
        let ttft = script.firstTokenDelayMs
        let status = script.status
        let fault = script.fault
        self = .counting(count, size: size, intervalMs: interval)
        self.firstTokenDelayMs = ttft
        self.status = status
        self.fault = fault
    }
}

/// A tool call the mock upstream streams.
public struct MockToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The full arguments JSON text.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public struct MockSpecError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}
