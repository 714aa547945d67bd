public import LLMuxWire

/// Who sent a request: for the logs, the ledger and the provider queues.
public struct RequestOrigin: Sendable, Hashable {
    /// The name from `hello` (`http:<user agent>` for HTTP requests).
    public var client: String?
    /// The peer process, from `SO_PEERCRED` (Unix sockets only).
    public var pid: Int?
    public var uid: Int?
    public var priority: RequestPriority

    public init(client: String? = nil, pid: Int? = nil, uid: Int? = nil, priority: RequestPriority = .interactive) {
        self.client = client
        self.pid = pid
        self.uid = uid
        self.priority = priority
    }
}
