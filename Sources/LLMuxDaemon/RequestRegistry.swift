import LLMuxEngine
import NIOConcurrencyHelpers

/// The requests in flight on one connection, by client id. It rejects
/// duplicate ids, enforces the per-connection limit, and lets a `cancel`
/// frame or a hang-up cancel a request's task. A request registered with a
/// `supersede` key cancels the one that held the key (latest wins).
final class RequestRegistry: Sendable {
    enum Registration {
        case registered(RequestCancellation)
        case duplicate
        case full
    }

    private struct State {
        var requests: [String: RequestCancellation] = [:]
        /// The request holding each `supersede` key.
        var superseding: [String: String] = [:]
        var cancelledAll = false
    }

    private let state = NIOLockedValueBox(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Registers `id`; with `supersede`, the request that held that key is cancelled
    /// (reason `superseded`) and `id` holds it now.
    func register(_ id: String, supersede key: String? = nil) -> Registration {
        let (registration, superseded) = self.state.withLockedValue { state -> (Registration, RequestCancellation?) in
            if state.requests[id] != nil { return (.duplicate, nil) }
            // The request it replaces leaves room for it.
            let previous = key.flatMap { state.superseding[$0] }.flatMap { state.requests[$0] }
            if state.requests.count - (previous == nil ? 0 : 1) >= self.limit { return (.full, nil) }
            let cancellation = RequestCancellation()
            if state.cancelledAll { cancellation.cancel() }
            state.requests[id] = cancellation
            if let key { state.superseding[key] = id }
            return (.registered(cancellation), previous)
        }
        superseded?.cancel(reason: "superseded")
        return registration
    }

    func remove(_ id: String) {
        self.state.withLockedValue { state in
            state.requests.removeValue(forKey: id)
            for (key, holder) in state.superseding where holder == id { state.superseding.removeValue(forKey: key) }
        }
    }

    /// Cancels one request; an unknown or finished id is a no-op.
    func cancel(_ id: String) {
        let cancellation = self.state.withLockedValue { $0.requests[id] }
        cancellation?.cancel()
    }

    /// Cancels every request, now and later (the connection is gone).
    func cancelAll() {
        let all = self.state.withLockedValue { state in
            state.cancelledAll = true
            return Array(state.requests.values)
        }
        for cancellation in all { cancellation.cancel() }
    }
}
