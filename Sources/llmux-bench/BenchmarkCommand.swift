import ArgumentParser
import AsyncHTTPClient
import Foundation
import LLMuxClient
import LLMuxConfig
import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOCore
import NIOPosix

/// `llmux-bench`: measures what llmuxd adds on top of calling the upstream
/// directly, against the bundled mock upstream, all on loopback. Prints a
/// table with each goal beside its figure and writes the figures as JSON.
@main
struct BenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmux-bench",
        abstract: "Benchmarks llmuxd against the mock upstream (run with -c release)."
    )

    @Option(help: "Where to write the figures as JSON.")
    var json: String = "benchmark-results.json"

    @Option(help: "Requests per concurrency level in the time-to-first-delta scenario.")
    var requests: Int = 512

    func run() async throws {
        var logger = Logger(label: "llmux-bench")
        logger.logLevel = .error
        let mock = try await MockUpstream.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmux-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/llmux.sock"
        let config = DaemonConfig(
            providers: ["mock": ProviderConfig(name: "mock", baseURL: mock.baseURL, keySource: .none, http1Only: true)],
            defaultModel: "mock/default"
        )
        let runtime = DaemonRuntime(config: config, listen: .path(socket), environment: [:], logger: logger)
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let daemon = Task { try await runtime.run { readyContinuation.yield() } }
        for await _ in ready { break }

        let bench = Scenarios(socket: socket, mock: mock)
        var results: [Figure] = []
        for concurrency in [1, 64] {
            results += try await bench.timeToFirstDelta(concurrency: concurrency, requests: max(concurrency, self.requests))
        }
        results += try await bench.throughput(streams: 64, deltas: 2000)
        results += try await bench.cancelLatency(samples: 200)

        daemon.cancel()
        _ = try? await daemon.value
        await mock.shutdown()

        Report.print(results)
        try Report.writeJSON(results, to: self.json)
        print("figures written to \(self.json)")
    }
}
