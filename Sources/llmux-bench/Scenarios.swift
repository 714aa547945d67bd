import AsyncHTTPClient
import Foundation
import LLMuxClient
import LLMuxMockUpstream
import LLMuxUpstream
import LLMuxWire
import NIOCore

/// The benchmark scenarios. Each talks to a daemon on `socket` whose default
/// provider is `mock`, and compares with talking to `mock` directly.
struct Scenarios: Sendable {
    let socket: String
    let mock: MockUpstream

    /// Scenario a: time to first delta through llmuxd vs straight to the mock.
    func timeToFirstDelta(concurrency: Int, requests: Int) async throws -> [Figure] {
        let model = "mock:chunks=1,size=8"
        var viaDaemon = Samples()
        var direct = Samples()
        // Warm up both paths (connection pools, allocator).
        _ = try await self.daemonTTFT(model: model, count: concurrency, concurrency: concurrency)
        _ = try await self.directTTFT(model: model, count: concurrency, concurrency: concurrency)
        for round in 0..<4 {
            // Alternate which path goes first so neither always runs on a warmer machine.
            if round % 2 == 0 {
                viaDaemon.values += try await self.daemonTTFT(model: model, count: requests / 4, concurrency: concurrency).values
                direct.values += try await self.directTTFT(model: model, count: requests / 4, concurrency: concurrency).values
            } else {
                direct.values += try await self.directTTFT(model: model, count: requests / 4, concurrency: concurrency).values
                viaDaemon.values += try await self.daemonTTFT(model: model, count: requests / 4, concurrency: concurrency).values
            }
        }
        let scenario = "a: ttft x\(concurrency)"
        let addedP50 = viaDaemon.percentile(0.5) - direct.percentile(0.5)
        let addedP99 = viaDaemon.percentile(0.99) - direct.percentile(0.99)
        // At 64 the added p50's goal is a ratio to a baseline run (BaselineGoal).
        let goals = concurrency == 64
        return [
            Figure(scenario: scenario, name: "direct p50", value: direct.percentile(0.5), unit: "ms", goal: "", met: nil),
            Figure(scenario: scenario, name: "direct p99", value: direct.percentile(0.99), unit: "ms", goal: "", met: nil),
            Figure(scenario: scenario, name: "llmuxd p50", value: viaDaemon.percentile(0.5), unit: "ms", goal: "", met: nil),
            Figure(scenario: scenario, name: "llmuxd p99", value: viaDaemon.percentile(0.99), unit: "ms", goal: "", met: nil),
            Figure(scenario: scenario, name: "added p50", value: addedP50, unit: "ms", goal: "", met: nil),
            Figure(scenario: scenario, name: "added p99", value: addedP99, unit: "ms", goal: goals ? "<= 1" : "", met: goals ? addedP99 <= 1 : nil),
        ]
    }

    /// Many chat requests on one connection, `concurrency` in flight at a time; time to each first delta.
    func daemonTTFT(model: String, count: Int, concurrency: Int) async throws -> Samples {
        try await LLMuxConnection.withConnection(socketPath: self.socket) { connection in
            var samples = Samples()
            var sentAt: [String: ContinuousClock.Instant] = [:]
            var next = 0
            var finished = 0
            func send() async throws {
                let id = "t\(next)"
                next += 1
                sentAt[id] = .now
                try await connection.send(.chat(.userPrompt(id: id, model: "mock/\(model)", prompt: "hi")))
            }
            for _ in 0..<min(concurrency, count) { try await send() }
            for try await received in connection.frames {
                switch received.frame {
                case .delta(let delta) where delta.seq == 0:
                    if let start = sentAt[delta.id] { samples.add(.now - start) }
                case .done, .error:
                    finished += 1
                    if finished == count { return samples }
                    if next < count { try await send() }
                default:
                    break
                }
            }
            return samples
        }
    }

    /// The same requests sent straight to the mock with async-http-client.
    func directTTFT(model: String, count: Int, concurrency: Int) async throws -> Samples {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(ignoreUncleanSSLShutdown: false))
        defer { _ = client.shutdown() }
        let url = self.mock.baseURL + "/chat/completions"
        let body = UpstreamChatClient.requestBody(for: .userPrompt(id: "x", model: nil, prompt: "hi"), upstreamModel: model)
        return try await withThrowingTaskGroup(of: Samples.self) { group in
            let perWorker = count / concurrency
            for _ in 0..<concurrency {
                group.addTask {
                    var samples = Samples()
                    for _ in 0..<max(1, perWorker) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(body)
                        let start = ContinuousClock.now
                        let response = try await client.execute(request, timeout: .seconds(30))
                        if let first = try await Self.firstDelta(of: response) { samples.add(first - start) }
                    }
                    return samples
                }
            }
            var all = Samples()
            for try await samples in group { all.values += samples.values }
            return all
        }
    }

    /// Reads a streamed chat completion to its end; when its first content delta arrived (the
    /// mock's counting chunks start with "0"), or `nil` when none did.
    static func firstDelta(of response: HTTPClientResponse) async throws -> ContinuousClock.Instant? {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        var first: ContinuousClock.Instant?
        for try await chunk in response.body {
            try parser.feed(chunk.readableBytesView, into: &events)
            if first == nil && events.contains(where: { $0.data.contains("\"content\":\"0") }) { first = .now }
            events.removeAll(keepingCapacity: true)
        }
        return first
    }

    /// Part of scenario a's explanation: llmuxd's CPU time per short request (one 8-byte delta),
    /// `concurrency` at a time. Requests that arrive together queue for this much CPU each.
    func cpuPerRequest(requests: Int, concurrency: Int, daemonCPU: () -> Double) async throws -> [Figure] {
        let model = "mock:chunks=1,size=8"
        _ = try await self.daemonTTFT(model: model, count: concurrency, concurrency: concurrency)
        let start = daemonCPU()
        _ = try await self.daemonTTFT(model: model, count: requests, concurrency: concurrency)
        let perRequest = (daemonCPU() - start) / Double(requests) * 1_000_000
        // Scenario a keeps `concurrency` requests in flight (a closed loop, CPU-bound here), so each
        // request's latency is `concurrency` / throughput: llmuxd's CPU per request adds about
        // `concurrency` x that CPU / cores to every first delta, whatever the scheduling.
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let expectedAdded = perRequest * Double(concurrency) / cores / 1000
        return [
            Figure(scenario: "a: cost", name: "llmuxd CPU per short request", value: perRequest, unit: "us", goal: "", met: nil),
            Figure(
                scenario: "a: cost", name: "added at x\(concurrency) from CPU alone (x \(concurrency) / \(Int(cores)) cores)",
                value: expectedAdded, unit: "ms", goal: "", met: nil
            ),
        ]
    }

    /// Scenario b: relay throughput, `streams` requests of `deltas` deltas each at full speed.
    /// `daemonCPU` reads the daemon process's CPU seconds (it runs apart from this process, which
    /// holds the client and the mock).
    func throughput(streams: Int, deltas: Int, daemonCPU: () -> Double) async throws -> [Figure] {
        let startCPU = Self.processCPUSeconds()
        let startDaemonCPU = daemonCPU()
        let start = ContinuousClock.now
        let chunkSize = 16
        let model = "mock/mock:chunks=\(deltas),size=\(chunkSize)"
        let (count, frames, bytes, errors) = try await LLMuxConnection.withConnection(socketPath: self.socket) { connection -> (Int, Int, Int, [String]) in
            for index in 0..<streams {
                try await connection.send(.chat(.userPrompt(id: "s\(index)", model: model, prompt: "go")))
            }
            // Upstream deltas relayed, counted by their text (a slow reader gets several merged into one frame).
            var textBytes = 0
            var frames = 0
            var bytes = 0
            var finished = 0
            var errors: [String] = []
            for try await received in connection.frames {
                bytes += received.raw.utf8.count + 1
                if case .delta(let delta) = received.frame {
                    frames += 1
                    textBytes += delta.text?.utf8.count ?? 0
                }
                if case .error(_, let error) = received.frame { errors.append("\(error.code.rawValue): \(error.message)") }
                if received.frame.isTerminal {
                    finished += 1
                    if finished == streams { break }
                }
            }
            return (textBytes / chunkSize, frames, bytes, errors)
        }
        for error in Set(errors) { print("throughput: request failed: \(error)") }
        let seconds = Self.seconds(.now - start)
        let cpu = Self.processCPUSeconds() - startCPU
        let daemonSeconds = daemonCPU() - startDaemonCPU
        let rate = Double(count) / seconds
        return [
            Figure(
                scenario: "b: throughput", name: "deltas relayed", value: Double(count), unit: "deltas", goal: "= \(streams * deltas)",
                met: count == streams * deltas),
            Figure(scenario: "b: throughput", name: "delta frames (merged for a slow reader)", value: Double(frames), unit: "frames", goal: "", met: nil),
            Figure(scenario: "b: throughput", name: "failed requests", value: Double(errors.count), unit: "requests", goal: "= 0", met: errors.isEmpty),
            Figure(scenario: "b: throughput", name: "delta rate", value: rate, unit: "deltas/s", goal: ">= 200000", met: rate >= 200_000),
            Figure(scenario: "b: throughput", name: "frame bytes", value: Double(bytes) / seconds / 1_048_576, unit: "MB/s", goal: "", met: nil),
            Figure(
                scenario: "b: throughput",
                name: "llmuxd CPU per 1M deltas",
                value: daemonSeconds / Double(count) * 1_000_000,
                unit: "s",
                goal: "",
                met: nil
            ),
            Figure(
                scenario: "b: throughput",
                name: "client + mock CPU per 1M deltas",
                value: cpu / Double(count) * 1_000_000,
                unit: "s",
                goal: "",
                met: nil
            ),
        ]
    }

    /// Scenario d: from sending `cancel` to the mock seeing its connection closed.
    func cancelLatency(samples count: Int) async throws -> [Figure] {
        var samples = Samples()
        try await LLMuxConnection.withConnection(socketPath: self.socket) { connection in
            for index in 0..<count {
                let id = "c\(index)"
                let before = self.mock.requests.count
                try await connection.send(.chat(.userPrompt(id: id, model: "mock/mock:chunks=1000,size=8,interval_ms=5", prompt: "x")))
                var cancelledAt: ContinuousClock.Instant?
                for try await received in connection.frames where received.frame.id == id {
                    if case .delta = received.frame, cancelledAt == nil {
                        cancelledAt = .now
                        try await connection.send(.cancel(id: id))
                    }
                    if received.frame.isTerminal { break }
                }
                let requests = self.mock.requests
                guard requests.count > before, let start = cancelledAt,
                    let closed = await self.mock.waitForClose(ofConnection: requests[requests.count - 1].connectionID, timeout: .seconds(2))
                else { continue }
                samples.add(closed - start)
            }
        }
        let p99 = samples.percentile(0.99)
        return [
            Figure(scenario: "d: cancel", name: "cancel -> upstream closed p50", value: samples.percentile(0.5), unit: "ms", goal: "", met: nil),
            Figure(scenario: "d: cancel", name: "cancel -> upstream closed p99", value: p99, unit: "ms", goal: "<= 2", met: p99 <= 2),
        ]
    }

    /// Scenario g: a keystroke burst, `frames` `complete` frames `gapMs` apart, as an editor sends
    /// them, with `supersede` and without. Upstream requests opened, those still running when the
    /// last keystroke's first token arrives (the cost of stale completions), and the time from the
    /// last frame to its first token, beside the mock's own time to first token called directly.
    func keystrokeBurst(bursts: Int, frames: Int = 20, gapMs: Int = 30) async throws -> [Figure] {
        let model = "mock:chunks=40,size=4,interval_ms=20,ttft_ms=60"
        var figures: [Figure] = []
        for supersede in [true, false] {
            var opened = Samples()
            var running = Samples()
            var lastToFirst = Samples()
            for burst in 0..<bursts {
                let before = self.mock.requests.count
                try await LLMuxConnection.withConnection(socketPath: self.socket) { connection in
                    let lastID = "b\(burst)-\(frames - 1)"
                    // Sent beside the reading below, in this scope: leaving it cancels the burst.
                    async let lastSentAt = Self.sendBurst(
                        on: connection, burst: burst, frames: frames, gapMs: gapMs, model: "mock/\(model)", supersede: supersede)
                    var ended = 0
                    for try await received in connection.frames {
                        if case .delta(let delta) = received.frame, delta.id == lastID, delta.seq == 0 {
                            lastToFirst.add(.now - (try await lastSentAt))
                            running.values.append(Double(self.mock.activeResponses))
                        }
                        if received.frame.isTerminal {
                            ended += 1
                            if ended == frames { break }
                        }
                    }
                }
                opened.values.append(Double(self.mock.requests.count - before))
            }
            let mode = supersede ? "supersede" : "no supersede"
            figures += [
                Figure(
                    scenario: "g: burst \(frames)x\(gapMs)ms", name: "\(mode): upstream requests opened", value: opened.percentile(0.5), unit: "", goal: "",
                    met: nil),
                Figure(
                    scenario: "g: burst \(frames)x\(gapMs)ms", name: "\(mode): running at last first token", value: running.percentile(0.5), unit: "",
                    goal: supersede ? "<= 1" : "", met: supersede ? running.percentile(0.5) <= 1 : nil),
                Figure(
                    scenario: "g: burst \(frames)x\(gapMs)ms", name: "\(mode): last frame -> first token p50", value: lastToFirst.percentile(0.5), unit: "ms",
                    goal: "", met: nil),
            ]
        }
        let direct = try await self.directTTFT(model: model, count: bursts * 2, concurrency: 1)
        figures.append(
            Figure(scenario: "g: burst \(frames)x\(gapMs)ms", name: "mock direct ttft p50", value: direct.percentile(0.5), unit: "ms", goal: "", met: nil))
        return figures
    }

    /// Sends one burst's `complete` frames `gapMs` apart; returns when the last was sent.
    static func sendBurst(
        on connection: LLMuxConnection, burst: Int, frames: Int, gapMs: Int, model: String, supersede: Bool
    ) async throws -> ContinuousClock.Instant {
        var lastSentAt = ContinuousClock.now
        for index in 0..<frames {
            var request = ChatRequest(id: "b\(burst)-\(index)", model: model, messages: [])
            request.operation = .completion(CompletionInput(prefix: "let value\(index) = ", suffix: ")"))
            if supersede { request.supersedeKey = "bench-buffer" }
            lastSentAt = .now
            try await connection.send(.chat(request))
            if index < frames - 1 { try await Task.sleep(for: .milliseconds(gapMs)) }
        }
        return lastSentAt
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
