package import LLMuxWire
// The scripts are this module's vocabulary: whoever starts a mock upstream writes them.
@_exported public import LLMuxMockScript
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOConcurrencyHelpers
import Synchronization

/// A scriptable OpenAI-compatible server on loopback, for tests and benchmarks. It serves `POST /v1/chat/completions`
/// (streamed) and `GET /v1/models`, records every request and connection, and
/// injects the faults of `MockScript.Fault`.
///
/// The script for a request is chosen by its `model`: a script registered for
/// that model, else a `mock:...` spec in the model name, else the default.
package final class MockUpstream: Sendable {
    /// One request as received.
    package struct RecordedRequest: Sendable {
        package var method: String
        package var uri: String
        package var headers: [(name: String, value: String)]
        package var body: JSONValue?
        package var connectionID: Int

        package func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// One client connection.
    package struct ConnectionRecord: Sendable {
        package var id: Int
        package var openedAt: ContinuousClock.Instant
        package var closedAt: ContinuousClock.Instant?
    }

    struct State {
        var scripts: [String: MockScript] = [:]
        var defaultScript: MockScript
        var requests: [RecordedRequest] = []
        var connections: [Int: ConnectionRecord] = [:]
        var nextConnectionID = 0
        var closeWaiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    let state: NIOLockedValueBox<State>
    private let channel: NIOLockedValueBox<(any Channel)?>
    /// The TCP port it listens on.
    package var port: Int { self.portValue.load(ordering: .relaxed) }
    private let portValue = Atomic<Int>(0)
    /// Streamed responses begun and not yet ended (finished, reset, or their connection closed).
    /// After every client request ended, anything above 0 is an upstream request the daemon left running.
    package var activeResponses: Int { self.activeResponsesValue.load(ordering: .relaxed) }
    let activeResponsesValue = Atomic<Int>(0)

    private init(defaultScript: MockScript) {
        self.state = NIOLockedValueBox(State(defaultScript: defaultScript))
        self.channel = NIOLockedValueBox(nil)
    }

    /// Starts listening on `host:port` (port 0 picks a free one).
    package static func start(host: String = "127.0.0.1", port: Int = 0, defaultScript: MockScript = MockScript()) async throws -> MockUpstream {
        let mock = MockUpstream(defaultScript: defaultScript)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Bursts of a thousand connects (benchmark c, the soak) must not overflow the accept
            // queue: dropped SYNs are retried after 1, 3, 7 s and run into the connect timeout.
            .serverChannelOption(.backlog, value: 4096)
            .childChannelInitializer { channel in
                let connectionID = mock.connectionOpened()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MockHTTPHandler(mock: mock, connectionID: connectionID))
                }
            }
            .bind(host: host, port: port)
            .get()
        mock.channel.withLockedValue { $0 = channel }
        mock.portValue.store(channel.localAddress?.port ?? 0, ordering: .relaxed)
        return mock
    }

    /// `http://127.0.0.1:PORT/v1`
    package var baseURL: String { "http://127.0.0.1:\(self.port)/v1" }

    package func shutdown() async {
        let channel = self.channel.withLockedValue { $0 }
        try? await channel?.close()
    }

    package func setScript(_ script: MockScript, forModel model: String) {
        self.state.withLockedValue { $0.scripts[model] = script }
    }

    package func setDefaultScript(_ script: MockScript) {
        self.state.withLockedValue { $0.defaultScript = script }
    }

    package var requests: [RecordedRequest] { self.state.withLockedValue { $0.requests } }
    package var connections: [ConnectionRecord] {
        self.state.withLockedValue { $0.connections.values.sorted { $0.id < $1.id } }
    }

    /// Waits until connection `id` is closed, up to `timeout`. Returns when it closed, or `nil` on timeout.
    package func waitForClose(ofConnection id: Int, timeout: Duration) async -> ContinuousClock.Instant? {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let closed = self.state.withLockedValue { state -> Bool in
                        if state.connections[id]?.closedAt != nil { return true }
                        state.closeWaiters.append((id, continuation))
                        return false
                    }
                    if closed { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            // Release a waiter left behind by the timeout.
            let stale = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                let matching = state.closeWaiters.filter { $0.id == id }.map(\.continuation)
                state.closeWaiters.removeAll { $0.id == id }
                return matching
            }
            for continuation in stale { continuation.resume() }
            group.cancelAll()
        }
        return self.state.withLockedValue { $0.connections[id]?.closedAt }
    }

    func script(forModel model: String?) -> MockScript {
        self.state.withLockedValue { state in
            if let model, let script = state.scripts[model] { return script }
            if let model, let spec = try? MockScript(spec: model) { return spec }
            return state.defaultScript
        }
    }

    func record(_ request: RecordedRequest) {
        self.state.withLockedValue { $0.requests.append(request) }
    }

    func connectionOpened() -> Int {
        self.state.withLockedValue { state in
            let id = state.nextConnectionID
            state.nextConnectionID += 1
            state.connections[id] = ConnectionRecord(id: id, openedAt: .now)
            return id
        }
    }

    func connectionClosed(_ id: Int) {
        let now = ContinuousClock.now
        let waiters = self.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.connections[id]?.closedAt = now
            let matching = state.closeWaiters.filter { $0.id == id }.map(\.continuation)
            state.closeWaiters.removeAll { $0.id == id }
            return matching
        }
        for waiter in waiters { waiter.resume() }
    }
}
