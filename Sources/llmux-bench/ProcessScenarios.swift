import Foundation
import LLMuxClient
import LLMuxMockUpstream
import LLMuxWire

/// The scenarios that need llmuxd as a process of its own: memory (c, f),
/// start-up (f) and the command-line client (e).
struct ProcessScenarios: Sendable {
    let mock: MockUpstream

    /// Scenario f: from spawning llmuxd to READY=1, and its resident memory once idle.
    func startAndIdle(starts: Int) async throws -> [Figure] {
        var ready = Samples()
        var idle = Samples()
        for _ in 0..<starts {
            let daemon = try await DaemonProcess.start(mocks: [self.mock])
            ready.add(daemon.startToReady)
            try await Task.sleep(for: .seconds(1))
            idle.values.append(Double(daemon.residentBytes) / 1_048_576)
            await daemon.stop()
        }
        let idleMB = idle.percentile(0.5)
        return [
            Figure(scenario: "f: start", name: "start -> READY=1 p50", value: ready.percentile(0.5), unit: "ms", goal: "", met: nil),
            Figure(scenario: "f: start", name: "start -> READY=1 max", value: ready.percentile(1), unit: "ms", goal: "", met: nil),
            Figure(scenario: "f: idle", name: "idle RSS after start (median of \(starts))", value: idleMB, unit: "MB", goal: "<= 30", met: idleMB <= 30),
        ]
    }

    /// Scenario c: `streams` requests open at once, each trickling a delta a second.
    func openStreams(_ streams: Int, perConnection: Int = 1000) async throws -> [Figure] {
        // One upstream (host:port) takes at most 1024 HTTP/1.1 streams at once, so spread them over mocks.
        let upstreams = max(1, (streams + 899) / 900)
        var mocks = [self.mock]
        for _ in 1..<upstreams { mocks.append(try await MockUpstream.start()) }
        let daemon = try await DaemonProcess.start(mocks: mocks)
        // Warm up: a round of short requests so pools and allocator arenas exist before the baseline.
        try await LLMuxConnection.withConnection(socketPath: daemon.socket) { connection in
            for index in 0..<200 { try await connection.send(.chat(.userPrompt(id: "w\(index)", model: "mock/mock:chunks=5,size=8", prompt: "x"))) }
            var ended = 0
            for try await received in connection.frames where received.frame.isTerminal {
                ended += 1
                if ended == 200 { break }
            }
        }
        try await Task.sleep(for: .seconds(1))
        let baseline = daemon.residentBytes
        let model: @Sendable (Int) -> String = { index in
            let upstream = index % upstreams
            return "mock\(upstream == 0 ? "" : String(upstream))/mock:chunks=3600,size=8,interval_ms=1000"
        }
        let connections = (streams + perConnection - 1) / perConnection
        let opened: Int
        let peak: Int
        do {
            (opened, peak) = try await self.holdOpen(streams, connections: connections, perConnection: perConnection, daemon: daemon, model: model)
        } catch {
            await daemon.stop()
            for mock in mocks.dropFirst() { await mock.shutdown() }
            throw error
        }
        try await Task.sleep(for: .seconds(2))
        let after = daemon.residentBytes
        // Once idle, llmuxd hands the memory the streams freed back (IdleTrimStateMachine).
        try await Task.sleep(for: .seconds(8))
        let settled = daemon.residentBytes
        let alive = daemon.isAlive
        await daemon.stop()
        for mock in mocks.dropFirst() { await mock.shutdown() }
        let perStream = Double(peak - baseline) / 1024 / Double(max(1, opened))
        return [
            Figure(
                scenario: "c: memory", name: "streams open at once", value: Double(opened), unit: "streams", goal: "= \(streams)",
                met: opened == streams && alive),
            Figure(scenario: "c: memory", name: "daemon RSS before (warm, idle)", value: Double(baseline) / 1_048_576, unit: "MB", goal: "", met: nil),
            Figure(scenario: "c: memory", name: "daemon RSS with the streams open", value: Double(peak) / 1_048_576, unit: "MB", goal: "", met: nil),
            Figure(scenario: "c: memory", name: "daemon RSS 2 s after they were cancelled", value: Double(after) / 1_048_576, unit: "MB", goal: "", met: nil),
            Figure(
                scenario: "c: memory", name: "daemon RSS 10 s after they were cancelled", value: Double(settled) / 1_048_576, unit: "MB",
                goal: String(format: "<= %.1f (1.25 x before)", Double(baseline) * 1.25 / 1_048_576), met: Double(settled) <= Double(baseline) * 1.25),
            Figure(scenario: "c: memory", name: "memory per open stream", value: perStream, unit: "KiB", goal: "<= 32", met: perStream <= 32),
        ]
    }

    /// Opens `streams` requests over `connections` connections and holds them until each has
    /// delivered its first delta; returns how many opened and the daemon's RSS a few seconds
    /// later. Hanging up afterwards cancels them all.
    private func holdOpen(
        _ streams: Int,
        connections: Int,
        perConnection: Int,
        daemon: DaemonProcess,
        model: @escaping @Sendable (Int) -> String
    ) async throws -> (opened: Int, peak: Int) {
        try await withThrowingTaskGroup(of: Int.self) { group -> (Int, Int) in
            let (allOpen, allOpenContinuation) = AsyncStream.makeStream(of: Int.self)
            for connectionIndex in 0..<connections {
                let count = min(perConnection, streams - connectionIndex * perConnection)
                group.addTask {
                    do {
                        return try await LLMuxConnection.withConnection(socketPath: daemon.socket) { connection in
                            for index in 0..<count {
                                let model = model(connectionIndex * perConnection + index)
                                try await connection.send(.chat(.userPrompt(id: "o\(index)", model: model, prompt: "x")))
                            }
                            // Count requests that delivered their first delta: their upstream stream is open.
                            var started = Set<String>()
                            for try await received in connection.frames {
                                if case .delta(let delta) = received.frame, started.insert(delta.id).inserted, started.count == count { break }
                                if case .error(_, let error) = received.frame {
                                    throw BenchmarkFailure("open stream failed: \(error.code.rawValue): \(error.message)")
                                }
                            }
                            guard started.count == count else {
                                throw BenchmarkFailure("the daemon closed the connection after \(started.count) of \(count) streams opened")
                            }
                            allOpenContinuation.yield(count)
                            // Hold every stream open until the measurement is taken (the group is then
                            // cancelled), then hang up, which cancels them all.
                            try? await Task.sleep(for: .seconds(86_400))
                            return count
                        }
                    } catch {
                        // A connection whose streams failed to open ends the wait for all of them,
                        // so its error ends the scenario instead of leaving it waiting forever.
                        allOpenContinuation.finish()
                        throw error
                    }
                }
            }
            var open = 0
            for await count in allOpen {
                open += count
                if open == streams { break }
            }
            guard open == streams else {
                group.cancelAll()
                while try await group.next() != nil {}
                throw BenchmarkFailure("only \(open) of \(streams) streams opened")
            }
            try await Task.sleep(for: .seconds(3))  // a few trickled deltas per stream
            let peak = daemon.residentBytes
            group.cancelAll()
            while try await group.next() != nil {}
            return (open, peak)
        }
    }

    /// Scenario e: from starting `llmux "hi"` to the first byte on its stdout; and the
    /// seed's Python script (openai SDK) against the HTTP front, when python3 with `openai` exists.
    func commandLine(runs: Int, python: String?) async throws -> [Figure] {
        let daemon = try await DaemonProcess.start(mocks: [self.mock])
        do {
            let figures = try await self.commandLine(runs: runs, python: python, daemon: daemon)
            await daemon.stop()
            return figures
        } catch {
            await daemon.stop()
            throw error
        }
    }

    private func commandLine(runs: Int, python: String?, daemon: DaemonProcess) async throws -> [Figure] {
        let llmux = DaemonProcess.sibling("llmux")
        let environment = ["PATH": "/usr/bin:/bin", "HOME": daemon.directory, "LLMUX_SOCKET": daemon.socket, "XDG_RUNTIME_DIR": daemon.directory]
        var cli = Samples()
        for _ in 0..<runs {
            let run = try await FirstByteTimer.run(llmux, ["--no-autostart", "hi"], environment: environment)
            guard run.status == 0, run.output.hasPrefix("echo: hi"), let first = run.firstByte else {
                throw BenchmarkFailure("llmux \"hi\" failed (exit \(run.status)): \(run.output)")
            }
            cli.add(first)
        }
        let p50 = cli.percentile(0.5)
        var figures = [
            Figure(scenario: "e: cli", name: "llmux \"hi\": start -> first byte p50", value: p50, unit: "ms", goal: "<= 10", met: p50 <= 10),
            Figure(scenario: "e: cli", name: "llmux \"hi\": start -> first byte p99", value: cli.percentile(0.99), unit: "ms", goal: "", met: nil),
        ]
        if let python {
            var seed = Samples()
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("examples/openai_stream.py").path
            let pythonEnvironment = environment.merging(["OPENAI_BASE_URL": daemon.httpBaseURL, "OPENAI_API_KEY": daemon.token]) { _, new in new }
            for _ in 0..<max(3, runs / 4) {
                let run = try await FirstByteTimer.run(python, [script, "smart-select"], environment: pythonEnvironment)
                guard run.status == 0, let first = run.firstByte else {
                    throw BenchmarkFailure("the seed's Python script failed (exit \(run.status)): \(run.output)")
                }
                seed.add(first)
            }
            figures.append(
                Figure(scenario: "e: cli", name: "seed's Python (openai SDK) -> first byte p50", value: seed.percentile(0.5), unit: "ms", goal: "", met: nil))
        }
        return figures
    }
}
