import LLMuxEngine
import NIOConcurrencyHelpers

/// The requests in flight on one connection, by client id. It rejects
/// duplicate ids, enforces the per-connection limit, and lets a `cancel`
/// frame or a hang-up cancel a request's task.
final class RequestRegistry: Sendable {
    enum Registration {
        case registered(RequestCancellation)
        case duplicate
        case full
    }

    private struct State {
        var requests: [String: RequestCancellation] = [:]
        var cancelledAll = false
    }

    private let state = NIOLockedValueBox(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func register(_ id: String) -> Registration {
        self.state.withLockedValue { state in
            if state.requests[id] != nil { return .duplicate }
            if state.requests.count >= self.limit { return .full }
            let cancellation = RequestCancellation()
            if state.cancelledAll { cancellation.cancel() }
            state.requests[id] = cancellation
            return .registered(cancellation)
        }
    }

    func remove(_ id: String) {
        _ = self.state.withLockedValue { $0.requests.removeValue(forKey: id) }
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
