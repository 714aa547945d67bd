/// An `embeddings` frame: the whole answer to an `embed` request, in one frame (no `start`, no
/// deltas): one vector per input, in input order, with what `done` says of a chat.
public struct EmbeddingsFrame: Sendable, Hashable {
    public var id: String
    /// One vector per input.
    public var vectors: [[Double]]
    /// Input tokens as the upstream counted them (output is 0).
    public var usage: Usage?
    public var model: String
    public var provider: String
    public var route: String?
    public var totalMs: Int
    public var attempts: [AttemptRecord]
    public var cost: RequestCost?

    public init(
        id: String, vectors: [[Double]], usage: Usage?, model: String, provider: String, route: String? = nil, totalMs: Int,
        attempts: [AttemptRecord] = [], cost: RequestCost? = nil
    ) {
        self.id = id
        self.vectors = vectors
        self.usage = usage
        self.model = model
        self.provider = provider
        self.route = route
        self.totalMs = totalMs
        self.attempts = attempts
        self.cost = cost
    }
}
