/// What a `complete` request fills in: the text before the cursor, the text after it, and
/// other files for context (fill-in-the-middle, as inline code completion sends it).
public struct CompletionInput: Sendable, Hashable {
    /// Another file the completion may draw on.
    public struct ContextFile: Sendable, Hashable {
        public var filename: String
        public var text: String

        public init(filename: String, text: String) {
            self.filename = filename
            self.text = text
        }
    }

    public var prefix: String
    public var suffix: String?
    public var extra: [ContextFile]

    public init(prefix: String, suffix: String? = nil, extra: [ContextFile] = []) {
        self.prefix = prefix
        self.suffix = suffix
        self.extra = extra
    }

    /// The prompt for APIs that take no context files (OpenAI-compatible `/completions`): each
    /// file as a line with its name, its text and a blank line, then the prefix.
    public var prompt: String {
        self.extra.map { "\($0.filename)\n\($0.text)\n\n" }.joined() + self.prefix
    }

    /// UTF-8 bytes of everything sent, for estimating tokens.
    public var estimatedBytes: Int {
        self.prompt.utf8.count + (self.suffix?.utf8.count ?? 0)
    }
}
