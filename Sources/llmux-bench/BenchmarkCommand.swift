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
/// `llmux-bench soak` runs the load and soak test.
@main
struct BenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmux-bench",
        abstract: "Benchmarks llmuxd against the mock upstream (run with -c release).",
        subcommands: [ScenariosCommand.self, SoakCommand.self],
        defaultSubcommand: ScenariosCommand.self
    )
}

/// The benchmark scenarios a to h.
struct ScenariosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios",
        abstract: "Runs the benchmark scenarios and prints each figure beside its goal (the default)."
    )

    @Option(help: "Where to write the figures as JSON.")
    var json: String = "benchmark-results.json"

    @Option(help: "Requests per concurrency level in the time-to-first-delta scenario (at least 4 x the concurrency).")
    var requests: Int = 512

    @Option(help: "Scenarios to run, comma-separated: a,b,c,d,e,f,g,h (default: all).")
    var scenarios: String = "a,b,c,d,e,f,g,h"

    @Option(help: "Streams held open at once in scenario c.")
    var openStreams: Int = 10_000

    @Option(
        help: ArgumentHelp(
            "The --json file of an earlier run (today's main, on this machine), for the goals stated as ratios to it.",
            valueName: "file"))
    var baseline: String?

    @Option(help: "A python3 with the openai package, for scenario e's comparison (default: .venv-test/bin/python when present).")
    var python: String?

    func run() async throws {
        // The mock side of scenario c alone holds one socket per open stream.
        FileDescriptorLimit.raiseToHardLimit()
        // Read the baseline first: a wrong path should not cost a whole run.
        let baseline = try self.baseline.map(BaselineGoal.readBaseline)
        var logger = Logger(label: "llmux-bench")
        logger.logLevel = .error
        let mock = try await MockUpstream.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmux-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let chosen = Set(self.scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        var results: [Figure] = []
        // First the scenarios that run llmuxd as a process of its own (its memory, its start-up,
        // the CLI against it), while this process still holds few sockets.
        let processes = ProcessScenarios(mock: mock)
        if chosen.contains("c") { results += try await processes.openStreams(self.openStreams) }
        if chosen.contains("e") {
            let venv = FileManager.default.currentDirectoryPath + "/.venv-test/bin/python"
            let python = self.python ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : nil)
            results += try await processes.commandLine(runs: 40, python: python)
        }
        if chosen.contains("f") { results += try await processes.startAndIdle(starts: 5) }
        if chosen.contains("a") || chosen.contains("b") || chosen.contains("h") {
            // Relay throughput and the CPU cost of one request, against llmuxd as a process so that
            // its CPU is measured apart from this process's client and mock (all three still share
            // the machine's cores).
            let daemon = try await DaemonProcess.start(mocks: [mock])
            let relay = Scenarios(socket: daemon.socket, mock: mock)
            if chosen.contains("b") {
                results += try await relay.throughput(streams: 64, deltas: 2000, daemonCPU: { daemon.cpuSeconds })
            }
            if chosen.contains("a") {
                results += try await relay.cpuPerRequest(requests: 4096, concurrency: 64, daemonCPU: { daemon.cpuSeconds })
            }
            if chosen.contains("h") { results += try await HTTPFrontScenario(daemon: daemon, mock: mock).run() }
            await daemon.stop()
        }

        // Then the daemon in this process, against the same mock, compared with calling the mock directly.
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
        if chosen.contains("a") {
            for concurrency in [1, 64, 1024] {
                results += try await bench.timeToFirstDelta(concurrency: concurrency, requests: max(concurrency * 4, self.requests))
            }
        }
        if chosen.contains("d") { results += try await bench.cancelLatency(samples: 200) }
        if chosen.contains("g") { results += try await bench.keystrokeBurst(bursts: 5) }
        daemon.cancel()
        _ = try? await daemon.value
        await mock.shutdown()

        results = BaselineGoal.apply(to: results, baseline: baseline)
        Report.print(results)
        try Report.writeJSON(results, to: self.json)
        print("figures written to \(self.json)")
    }
}
