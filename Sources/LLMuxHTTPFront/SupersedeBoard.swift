import NIOConcurrencyHelpers

/// Latest wins over HTTP: the request holding each `x-llmux-supersede` key, per peer. A new
/// request with a key cancels the one that held it (its engine task, so its upstream request)
/// and holds the key until it ends.
package final class SupersedeBoard: Sendable {
    private struct Holder {
        var token: Int
        var cancel: @Sendable () -> Void
    }

    private struct State {
        var holders: [String: Holder] = [:]
        var nextToken = 0
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Makes the caller the holder of `key` (already scoped to its peer), cancelling the previous
    /// holder; the token releases it.
    func claim(_ key: String, cancel: @escaping @Sendable () -> Void) -> Int {
        let (token, previous) = self.state.withLockedValue { state -> (Int, Holder?) in
            state.nextToken += 1
            let previous = state.holders[key]
            state.holders[key] = Holder(token: state.nextToken, cancel: cancel)
            return (state.nextToken, previous)
        }
        previous?.cancel()
        return token
    }

    /// Releases `key` if `token` still holds it.
    func release(_ key: String, token: Int) {
        self.state.withLockedValue { state in
            if state.holders[key]?.token == token { state.holders.removeValue(forKey: key) }
        }
    }
}
