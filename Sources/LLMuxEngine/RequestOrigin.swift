package import LLMuxWire

/// Who sent a request: for the logs, the ledger and the provider queues.
package struct RequestOrigin: Sendable, Hashable {
    /// The name from `hello` (`http:<user agent>` for HTTP requests).
    package var client: String?
    /// The peer process, from `SO_PEERCRED` (Unix sockets only).
    package var pid: Int?
    package var uid: Int?
    package var priority: RequestPriority

    package init(client: String? = nil, pid: Int? = nil, uid: Int? = nil, priority: RequestPriority = .interactive) {
        self.client = client
        self.pid = pid
        self.uid = uid
        self.priority = priority
    }
}
