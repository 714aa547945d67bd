/// A `chat` frame: one streamed chat completion, tagged with a client-chosen id.
public struct ChatRequest: Sendable, Hashable {
    /// Fields of a `chat` frame that llmux interprets itself. Every other field
    /// is an OpenAI chat-completions option and passes through to the upstream.
    public static let reservedKeys: Set<String> = [
        "type", "id", "model", "messages", "timeout_ms", "coalesce_ms", "stream", "stream_options",
    ]

    public var id: String
    /// A configured model or route name, or `provider/model`. `nil` selects the default model.
    public var model: String?
    /// OpenAI-shaped messages, passed through unchanged.
    public var messages: [JSONValue]
    /// Total time limit for this request, in milliseconds.
    public var timeoutMs: Int?
    /// Merge this request's deltas within windows of this many milliseconds
    /// (0: send each delta at once); `nil` keeps the connection's `hello` setting.
    public var coalesceMs: Int?
    /// Pass-through OpenAI options (`temperature`, `tools`, `max_tokens`, ...).
    public var options: [String: JSONValue]
    /// The request in the client's own dialect, for an upstream that speaks it (HTTP front only).
    public var native: NativeRequest?
    /// What is asked: a streamed chat completion (the default), or embeddings (an `embed`
    /// frame, `POST /v1/embeddings`: `messages` is empty, the answer one `embeddings` frame).
    public var operation: Operation = .chat
    /// `supersede` of a `complete` frame: a newer request with the same key on the same
    /// connection (HTTP: the same peer) cancels this one.
    public var supersedeKey: String?
    /// `debounce_ms` of a `complete` frame: wait this long before asking any upstream, so that
    /// a request superseded meanwhile costs nothing.
    public var debounceMs: Int?

    /// The kinds of request the engine runs.
    public enum Operation: Sendable, Hashable {
        case chat
        case embeddings(EmbeddingsInput)
        /// Fill-in-the-middle code completion (a `complete` frame, `POST /v1/completions`).
        case completion(CompletionInput)

        /// The capability a target needs to serve it.
        public var capability: Capability {
            switch self {
            case .chat: return .chat
            case .embeddings: return .embeddings
            case .completion: return .completion
            }
        }
    }

    /// What a target serves (`serves` in a `[models.NAME]` table).
    public enum Capability: String, Sendable, Hashable, CaseIterable {
        case chat
        case embeddings
        case completion
    }

    /// The fields of a `complete` frame that llmux interprets itself; every other one
    /// (`max_tokens`, `stop`, `temperature`, ...) passes to the upstream.
    public static let completeReservedKeys: Set<String> = [
        "type", "id", "model", "prefix", "suffix", "extra", "timeout_ms", "deadline_ms", "coalesce_ms", "supersede", "debounce_ms", "stream",
        "stream_options", "prompt",
    ]

    /// The longest `debounce_ms`.
    public static let maxDebounceMs = 10_000

    /// Reads and validates a `complete` frame. `id` was already read by the caller.
    public static func decodeComplete(id: String, object: [String: JSONValue]) throws(FrameDecodingError) -> ChatRequest {
        func invalid(_ message: String) -> FrameDecodingError { FrameDecodingError(.invalidRequest, message, id: id) }
        func string(_ key: String) throws(FrameDecodingError) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            case let other?: throw invalid("field '\(key)' must be a string, got \(other.typeName)")
            }
        }
        let model = try Self.decodeModel(object, id: id)
        guard let prefix = try string("prefix") else { throw invalid("missing field 'prefix' (the text before the cursor)") }
        var extra: [CompletionInput.ContextFile] = []
        if let files = object["extra"], !files.isNull {
            guard case .array(let items) = files else { throw invalid("field 'extra' must be an array of {\"filename\", \"text\"} objects") }
            for (index, item) in items.enumerated() {
                guard case .string(let filename)? = item["filename"], case .string(let text)? = item["text"] else {
                    throw invalid("extra[\(index)] needs string fields 'filename' and 'text'")
                }
                extra.append(.init(filename: filename, text: text))
            }
        }
        let deadline = try Self.decodeMilliseconds(object, "deadline_ms", in: Self.timeLimitRange, id: id)
        let timeout = try Self.decodeMilliseconds(object, "timeout_ms", in: Self.timeLimitRange, id: id)
        let debounce = try Self.decodeMilliseconds(object, "debounce_ms", in: 0...Self.maxDebounceMs, id: id)
        let supersede = try string("supersede")
        if supersede?.isEmpty == true { throw invalid("field 'supersede' must not be empty") }
        let coalesceMs = try CoalesceWindow.decode(object["coalesce_ms"], id: id)
        var options = object
        for key in Self.completeReservedKeys { options.removeValue(forKey: key) }
        var request = ChatRequest(id: id, model: model, messages: [], timeoutMs: deadline ?? timeout, coalesceMs: coalesceMs, options: options)
        request.operation = .completion(CompletionInput(prefix: prefix, suffix: try string("suffix"), extra: extra))
        request.supersedeKey = supersede
        request.debounceMs = debounce
        return request
    }

    /// What a request's time limit (`timeout_ms`, `deadline_ms`) may be: up to a day.
    static let timeLimitRange = 1...86_400_000

    /// A frame's `model`: absent or `null` for the default model, else a non-empty string.
    static func decodeModel(_ object: [String: JSONValue], id: String) throws(FrameDecodingError) -> String? {
        switch object["model"] {
        case nil, .null?: return nil
        case .string(let s)? where !s.isEmpty: return s
        case .string?: throw FrameDecodingError(.invalidRequest, "field 'model' must not be empty", id: id)
        case let other?: throw FrameDecodingError(.invalidRequest, "field 'model' must be a string, got \(other.typeName)", id: id)
        }
    }

    /// A frame's `key` in whole milliseconds within `range`; `nil` when absent or `null`.
    static func decodeMilliseconds(
        _ object: [String: JSONValue], _ key: String, in range: ClosedRange<Int>, id: String
    ) throws(FrameDecodingError) -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let ms = value.intValue, ms >= range.lowerBound, ms <= range.upperBound else {
            throw FrameDecodingError(
                .invalidRequest, "field '\(key)' must be a whole number of milliseconds between \(range.lowerBound) and \(range.upperBound)", id: id)
        }
        return Int(ms)
    }

    /// The fields of an `embed` frame that llmux interprets itself; every other one passes to
    /// the upstream (`dimensions`, `user`, ...).
    public static let embedReservedKeys: Set<String> = ["type", "id", "model", "input", "timeout_ms", "encoding_format"]

    /// Reads and validates an `embed` frame. `id` was already read by the caller.
    public static func decodeEmbed(id: String, object: [String: JSONValue]) throws(FrameDecodingError) -> ChatRequest {
        func invalid(_ message: String) -> FrameDecodingError { FrameDecodingError(.invalidRequest, message, id: id) }
        let model = try Self.decodeModel(object, id: id)
        guard let inputValue = object["input"] else { throw invalid("missing field 'input'") }
        let input: EmbeddingsInput
        do {
            input = try EmbeddingsInput(inputValue)
        } catch {
            throw FrameDecodingError(error.error.code, error.error.message, id: id)
        }
        if let dimensions = object["dimensions"], !dimensions.isNull, (dimensions.intValue ?? 0) <= 0 {
            throw invalid("field 'dimensions' must be a positive integer")
        }
        let timeoutMs = try Self.decodeMilliseconds(object, "timeout_ms", in: Self.timeLimitRange, id: id)
        var options = object
        for key in Self.embedReservedKeys { options.removeValue(forKey: key) }
        var request = ChatRequest(id: id, model: model, messages: [], timeoutMs: timeoutMs, options: options)
        request.operation = .embeddings(input)
        return request
    }

    public init(
        id: String,
        model: String? = nil,
        messages: [JSONValue],
        timeoutMs: Int? = nil,
        coalesceMs: Int? = nil,
        options: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.model = model
        self.messages = messages
        self.timeoutMs = timeoutMs
        self.coalesceMs = coalesceMs
        self.options = options
    }

    /// Builds a one-turn request from plain text.
    public static func userPrompt(id: String, model: String?, prompt: String, system: String? = nil) -> ChatRequest {
        var messages: [JSONValue] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(prompt)])
        return ChatRequest(id: id, model: model, messages: messages)
    }

    /// Reads and validates a chat frame's fields. `id` was already read by the caller.
    public static func decode(id: String, object: [String: JSONValue]) throws(FrameDecodingError) -> ChatRequest {
        func invalid(_ message: String) -> FrameDecodingError {
            FrameDecodingError(.invalidRequest, message, id: id)
        }
        let model = try Self.decodeModel(object, id: id)
        guard let messagesValue = object["messages"] else {
            throw invalid("missing field 'messages'")
        }
        guard case .array(let messages) = messagesValue else {
            throw invalid("field 'messages' must be an array, got \(messagesValue.typeName)")
        }
        guard !messages.isEmpty else { throw invalid("field 'messages' must not be empty") }
        for (index, message) in messages.enumerated() {
            guard case .object(let fields) = message else {
                throw invalid("messages[\(index)] must be an object, got \(message.typeName)")
            }
            guard case .string(let role)? = fields["role"], !role.isEmpty else {
                throw invalid("messages[\(index)] needs a string field 'role'")
            }
        }
        let timeoutMs = try Self.decodeMilliseconds(object, "timeout_ms", in: Self.timeLimitRange, id: id)
        let coalesceMs = try CoalesceWindow.decode(object["coalesce_ms"], id: id)
        if let n = object["n"], !n.isNull, n.intValue != 1 {
            throw invalid("field 'n' must be 1: llmux streams a single choice per request")
        }
        if let stream = object["stream"], stream.boolValue == false {
            throw invalid("field 'stream' cannot be false on the socket: every socket request streams")
        }
        var options = object
        for key in reservedKeys { options.removeValue(forKey: key) }
        return ChatRequest(id: id, model: model, messages: messages, timeoutMs: timeoutMs, coalesceMs: coalesceMs, options: options)
    }

    func encode(into writer: inout JSONWriter) {
        if case .completion(let input) = self.operation {
            writer.beginObject()
            writer.field("type", "complete")
            writer.field("id", self.id)
            if let model { writer.field("model", model) }
            writer.field("prefix", input.prefix)
            if let suffix = input.suffix { writer.field("suffix", suffix) }
            if !input.extra.isEmpty {
                writer.field("extra", JSONValue.array(input.extra.map { ["filename": .string($0.filename), "text": .string($0.text)] }))
            }
            if let timeoutMs { writer.field("deadline_ms", timeoutMs) }
            if let coalesceMs { writer.field("coalesce_ms", coalesceMs) }
            if let supersedeKey { writer.field("supersede", supersedeKey) }
            if let debounceMs { writer.field("debounce_ms", debounceMs) }
            for key in self.options.keys.sorted() { writer.field(key, self.options[key]!) }
            writer.endObject()
            return
        }
        if case .embeddings(let input) = self.operation {
            writer.beginObject()
            writer.field("type", "embed")
            writer.field("id", self.id)
            if let model { writer.field("model", model) }
            writer.field("input", input.value)
            if let timeoutMs { writer.field("timeout_ms", timeoutMs) }
            for key in self.options.keys.sorted() { writer.field(key, self.options[key]!) }
            writer.endObject()
            return
        }
        writer.beginObject()
        writer.field("type", "chat")
        writer.field("id", self.id)
        if let model { writer.field("model", model) }
        writer.field("messages", JSONValue.array(self.messages))
        if let timeoutMs { writer.field("timeout_ms", timeoutMs) }
        if let coalesceMs { writer.field("coalesce_ms", coalesceMs) }
        for key in self.options.keys.sorted() {
            writer.field(key, self.options[key]!)
        }
        writer.endObject()
    }
}

extension ChatRequest {
    /// Whether anything in the messages or options carries Anthropic's `cache_control`
    /// marker: such a request may write its prompt to the provider's cache.
    public var asksForPromptCaching: Bool {
        self.messages.contains { $0.containsKey("cache_control") } || self.options.values.contains { $0.containsKey("cache_control") }
    }
}

extension JSONValue {
    /// Whether `key` is a key of this object or of any object nested in it.
    func containsKey(_ key: String) -> Bool {
        switch self {
        case .object(let object): return object[key] != nil || object.values.contains { $0.containsKey(key) }
        case .array(let items): return items.contains { $0.containsKey(key) }
        default: return false
        }
    }
}
