/// A request as its client wrote it in a provider's own dialect, kept beside
/// the translated `ChatRequest` so that an upstream of that same dialect gets
/// it unchanged (only the model is mapped): `cache_control`, thinking blocks
/// with their signatures, server tools, fields and blocks llmux does not know,
/// and the dialect's version headers survive. Upstreams of other kinds use the
/// translation. Only the HTTP front sets it; the socket protocol has no such
/// field.
public struct NativeRequest: Sendable, Hashable {
    /// The dialects a request can pass through in.
    public enum Dialect: String, Sendable, Hashable {
        /// Anthropic Messages, for `kind = "anthropic"` upstreams.
        case anthropicMessages = "anthropic-messages"
        /// OpenAI Responses, for `kind = "openai-responses"` upstreams.
        case openAIResponses = "openai-responses"
    }

    public var dialect: Dialect
    /// The request body's fields, as sent.
    public var body: [String: JSONValue]
    /// The client's dialect headers to forward (lowercase names), such as
    /// `anthropic-version` and `anthropic-beta`; never credentials.
    public var headers: [String: String]

    public init(dialect: Dialect, body: [String: JSONValue], headers: [String: String] = [:]) {
        self.dialect = dialect
        self.body = body
        self.headers = headers
    }
}
