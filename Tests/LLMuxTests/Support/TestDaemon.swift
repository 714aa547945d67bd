import Foundation
import InMemoryLogging
import LLMuxClient
import LLMuxConfig
import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxWire
import Logging
import NIOCore

/// A real llmuxd (the `DaemonRuntime` the executable runs) on a temporary
/// socket, talking to a fresh mock upstream on loopback.
struct TestDaemon: Sendable {
    static let apiKey = "sk-test-SECRET-0123456789abcdef"

    let socketPath: String
    let directory: String
    let mock: MockUpstream
    let logs: InMemoryLogHandler
    /// The HTTP front's Unix socket.
    let httpSocketPath: String
    /// `http://127.0.0.1:PORT` when the test asked for TCP (`tcpHTTP`).
    let httpBaseURL: String?

    /// The bearer token the daemon created for TCP clients.
    var token: String? {
        (try? String(contentsOfFile: self.directory + "/config/llmux/token", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` with a fresh daemon. `exclusive` runs it with no other daemon or process test at the same time.
    static func with<R: Sendable>(
        exclusive: Bool = false,
        timeouts: TimeoutConfig = TimeoutConfig(connectMs: 10_000, headerMs: 10_000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 30_000),
        limits: ProtocolLimits = .default,
        maxPendingBytes: Int = 64 * 1024 * 1024,
        configure: @Sendable (inout DaemonConfig, MockUpstream) -> Void = { _, _ in },
        reloadSource: (@Sendable (MockUpstream) -> LiveConfiguration.Source)? = nil,
        tcpHTTP: Bool = false,
        environment: [String: String] = [:],
        _ body: (TestDaemon) async throws -> R
    ) async throws -> R {
        let run = {
            try await Self.withUnlocked(
                timeouts: timeouts,
                limits: limits,
                maxPendingBytes: maxPendingBytes,
                configure: configure,
                reloadSource: reloadSource,
                tcpHTTP: tcpHTTP,
                environment: environment,
                body
            )
        }
        return exclusive
            ? try await ExclusiveTestLock.shared.withLock(run)
            : try await ExclusiveTestLock.shared.withSharedLock(run)
    }

    private static func withUnlocked<R: Sendable>(
        timeouts: TimeoutConfig = TimeoutConfig(connectMs: 10_000, headerMs: 10_000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 30_000),
        limits: ProtocolLimits = .default,
        maxPendingBytes: Int = 64 * 1024 * 1024,
        configure: @Sendable (inout DaemonConfig, MockUpstream) -> Void = { _, _ in },
        reloadSource: (@Sendable (MockUpstream) -> LiveConfiguration.Source)? = nil,
        tcpHTTP: Bool,
        environment: [String: String],
        _ body: (TestDaemon) async throws -> R
    ) async throws -> R {
        let mock = try await MockUpstream.start()
        let directory = try TemporaryDirectory.make()
        let socketPath = directory + "/llmux.sock"
        var config = DaemonConfig(
            providers: [
                "mock": ProviderConfig(name: "mock", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
            ],
            models: ["fast": ModelConfig(name: "fast", provider: "mock", upstreamModel: "fast-upstream")],
            defaultModel: "mock/default",
            timeouts: timeouts
        )
        if tcpHTTP { config.http.listen = HostPort(host: "127.0.0.1", port: 0) }
        configure(&config, mock)
        let httpSocketPath = directory + "/http.sock"
        let listenersWanted = (config.http.unixSocket ? 1 : 0) + (config.http.listen == nil ? 0 : 1)
        let (listening, listeningContinuation) = AsyncStream.makeStream(of: String.self)
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test-llmuxd", factory: { _ in logs })
        logger.logLevel = .trace
        let runtime = DaemonRuntime(
            config: config,
            listen: .path(socketPath),
            limits: limits,
            maxPendingBytesPerConnection: maxPendingBytes,
            environment: ["MOCK_KEY": Self.apiKey, "XDG_CONFIG_HOME": directory + "/config", "XDG_STATE_HOME": directory + "/state"]
                .merging(environment) { _, extra in extra },
            logger: logger,
            configSource: reloadSource?(mock),
            httpSocketPath: httpSocketPath,
            onHTTPListening: { listeningContinuation.yield($0) }
        )
        let (readyStream, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            defer {
                readyContinuation.finish()
                listeningContinuation.finish()
            }
            try await runtime.run { readyContinuation.yield() }
        }
        for await _ in readyStream { break }
        var addresses: [String] = []
        if listenersWanted > 0 {
            for await address in listening {
                addresses.append(address)
                if addresses.count == listenersWanted { break }
            }
        }
        let daemon = TestDaemon(
            socketPath: socketPath,
            directory: directory,
            mock: mock,
            logs: logs,
            httpSocketPath: httpSocketPath,
            httpBaseURL: addresses.first { $0.hasPrefix("http://") }
        )
        do {
            let result = try await body(daemon)
            task.cancel()
            _ = try? await task.value
            await mock.shutdown()
            TemporaryDirectory.remove(directory)
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            await mock.shutdown()
            TemporaryDirectory.remove(directory)
            throw error
        }
    }

    func connect<R: Sendable>(_ body: (LLMuxConnection) async throws -> R) async throws -> R {
        try await LLMuxConnection.withConnection(socketPath: self.socketPath, body)
    }

    /// Everything the daemon logged, as text, metadata included.
    var logText: String {
        self.logs.entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n")
    }
}

enum TemporaryDirectory {
    static func make() throws -> String {
        var template = Array("/tmp/llmux-test-XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else { throw POSIXError(.EIO) }
        return String(cString: pointer)
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension LLMuxConnection {
    func send(line: String) async throws {
        try await self.sendRaw(ByteBuffer(string: line + "\n"))
    }
}

/// Frames of one connection grouped by request id, read until every awaited id has a terminal frame.
struct FrameLog: Sendable {
    var byID: [String: [ServerFrame]] = [:]
    var withoutID: [ServerFrame] = []
    /// `duplicate_id` errors: they reject a new request and never end the one in flight.
    var rejectedDuplicates: [ServerFrame] = []
    var all: [ServerFrame] = []

    mutating func append(_ frame: ServerFrame) {
        self.all.append(frame)
        if case .error(_, let error) = frame, error.code == .duplicateID {
            self.rejectedDuplicates.append(frame)
        } else if let id = frame.id {
            self.byID[id, default: []].append(frame)
        } else {
            self.withoutID.append(frame)
        }
    }

    func frames(_ id: String) -> [ServerFrame] { self.byID[id] ?? [] }

    func terminal(_ id: String) -> ServerFrame? { self.frames(id).last.flatMap { $0.isTerminal ? $0 : nil } }

    func text(_ id: String) -> String {
        self.frames(id).compactMap { frame -> String? in
            if case .delta(let delta) = frame { return delta.text }
            return nil
        }.joined()
    }

    func reasoning(_ id: String) -> String {
        self.frames(id).compactMap { frame -> String? in
            if case .delta(let delta) = frame { return delta.reasoning }
            return nil
        }.joined()
    }

    /// Checks the per-request invariant: start, deltas with seq 0..n-1, exactly one terminal frame last.
    func isWellFormed(_ id: String) -> Bool {
        let frames = self.frames(id)
        guard frames.count >= 2, case .start = frames[0], frames.last!.isTerminal else { return false }
        guard frames.dropLast().allSatisfy({ !$0.isTerminal }) else { return false }
        var expected = 0
        for frame in frames.dropFirst().dropLast() {
            guard case .delta(let delta) = frame, delta.seq == expected else { return false }
            expected += 1
        }
        return true
    }

    static func read(
        from connection: LLMuxConnection,
        until ids: Set<String>,
        alsoWaitForUnidentified count: Int = 0
    ) async throws -> FrameLog {
        var log = FrameLog()
        var pending = ids
        for try await received in connection.frames {
            log.append(received.frame)
            if received.frame.isTerminal, let id = received.frame.id, log.terminal(id) != nil { pending.remove(id) }
            if pending.isEmpty && log.withoutID.count >= count { break }
        }
        return log
    }
}

func chatLine(_ id: String, model: String = "mock/default", extra: String = "") -> String {
    #"{"type":"chat","id":"\#(id)","model":"\#(model)","messages":[{"role":"user","content":"hello \#(id)"}]\#(extra)}"#
}

/// Tests that assert latency bounds (the 100 ms cancel guarantee) or load
/// both cores run alone: they take this gate exclusively, every other daemon
/// or process test takes it shared. Without it a debug build on a 2-core
/// machine measures the scheduler instead of llmux.
///
/// Shared holders are also capped at `width` at once: Swift Testing starts every async test
/// together, and a few hundred daemons, mock upstreams and child processes at once on two
/// cores (AddressSanitizer makes each several times slower) starve one another past the
/// tests' 5 and 10 s bounds. `LLMUX_TEST_WIDTH` overrides the width.
actor ExclusiveTestLock {
    static let shared = ExclusiveTestLock(width: ExclusiveTestLock.configuredWidth)

    /// Eight daemon tests at once; four under a sanitizer (`scripts/sanitize` sets LLMUX_SANITIZER).
    static var configuredWidth: Int {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["LLMUX_TEST_WIDTH"], let width = Int(text), width > 0 { return width }
        return environment["LLMUX_SANITIZER"] == nil ? 8 : 4
    }

    private let width: Int
    init(width: Int) { self.width = width }

    private var readers = 0
    private var writer = false
    private var writersWaiting = 0
    private var readerQueue: [CheckedContinuation<Void, Never>] = []
    private var writerQueue: [CheckedContinuation<Void, Never>] = []

    private func acquireShared() async {
        while self.writer || self.writersWaiting > 0 || self.readers >= self.width {
            await withCheckedContinuation { self.readerQueue.append($0) }
        }
        self.readers += 1
    }

    private func releaseShared() {
        self.readers -= 1
        self.wake()
    }

    private func acquireExclusive() async {
        self.writersWaiting += 1
        while self.writer || self.readers > 0 {
            await withCheckedContinuation { self.writerQueue.append($0) }
        }
        self.writersWaiting -= 1
        self.writer = true
    }

    private func releaseExclusive() {
        self.writer = false
        self.wake()
    }

    private func wake() {
        if !self.writerQueue.isEmpty && self.readers == 0 {
            self.writerQueue.removeFirst().resume()
        } else if self.writerQueue.isEmpty && !self.readerQueue.isEmpty && self.readers < self.width {
            // One waiter per free place, in the order they came; each checks again when it runs.
            let waking = self.readerQueue.prefix(self.width - self.readers)
            self.readerQueue.removeFirst(waking.count)
            for continuation in waking { continuation.resume() }
        }
    }

    /// Runs `body` alone: no other test holding the gate runs meanwhile.
    nonisolated func withLock<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await self.holding(exclusive: true, body)
    }

    /// Runs `body` beside other shared holders, never beside an exclusive one.
    nonisolated func withSharedLock<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await self.holding(exclusive: false, body)
    }

    private nonisolated func holding<R: Sendable>(exclusive: Bool, _ body: () async throws -> R) async throws -> R {
        if exclusive { await self.acquireExclusive() } else { await self.acquireShared() }
        let result: Result<R, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        if exclusive { await self.releaseExclusive() } else { await self.releaseShared() }
        return try result.get()
    }
}
