import AsyncHTTPClient
import Foundation
import LLMuxClient
import LLMuxMockUpstream
import LLMuxUpstream
import LLMuxWire
import NIOCore

/// Scenario h: the OpenAI-compatible HTTP front, on TCP and on `http.sock`, against the NDJSON
/// socket path and against calling the mock directly, in one run against one llmuxd process.
/// The HTTP paths and the direct one use the same client (async-http-client, one pool); the
/// socket path uses llmux's own client. Each path streams the same 20-delta answer, first one
/// request at a time, then 32 at a time.
struct HTTPFrontScenario: Sendable {
    let daemon: DaemonProcess
    let mock: MockUpstream

    /// Where a request goes.
    enum Path: String, CaseIterable, Sendable {
        case direct
        case socket
        case tcp
        case unix
    }

    static let model = "mock:chunks=20,size=8"

    /// One path's figures from one pass.
    struct Pass {
        var ttft = Samples()
        var seconds = 0.0
        var daemonCPU = 0.0
        var requests = 0
    }

    func run(sequential: Int = 300, concurrent: Int = 1024, concurrency: Int = 32) async throws -> [Figure] {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(ignoreUncleanSSLShutdown: false))
        do {
            let figures = try await self.measure(client, sequential: sequential, concurrent: concurrent, concurrency: concurrency)
            try await client.shutdown()
            return figures
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measure(_ client: HTTPClient, sequential: Int, concurrent: Int, concurrency: Int) async throws -> [Figure] {
        // Warm every path (pools, the daemon's allocator).
        for path in Path.allCases { _ = try await self.pass(path, client, count: concurrency * 2, concurrency: concurrency) }
        var one: [Path: Pass] = [:]
        var many: [Path: Pass] = [:]
        // Two rounds in alternating order, so no path always runs on a warmer machine.
        for round in 0..<2 {
            let order = round == 0 ? Path.allCases : Path.allCases.reversed()
            for path in order {
                one[path, default: Pass()].merge(try await self.pass(path, client, count: sequential / 2, concurrency: 1))
                many[path, default: Pass()].merge(try await self.pass(path, client, count: concurrent / 2, concurrency: concurrency))
            }
        }
        let direct = one[.direct]!.ttft.percentile(0.5)
        func added(_ path: Path) -> Double { one[path]!.ttft.percentile(0.5) - direct }
        func cpu(_ pass: Pass) -> Double { pass.daemonCPU / Double(pass.requests) * 1_000_000 }
        func rate(_ pass: Pass) -> Double { Double(pass.requests) / pass.seconds }
        var figures: [Figure] = []
        let scenario = "h: http front"
        figures.append(Figure(scenario: scenario, name: "direct first delta p50 (sequential)", value: direct, unit: "ms", goal: "", met: nil))
        for path in [Path.socket, .tcp, .unix] {
            figures.append(
                Figure(scenario: scenario, name: "\(path.rawValue): added first delta p50 (sequential)", value: added(path), unit: "ms", goal: "", met: nil))
            figures.append(
                Figure(
                    scenario: scenario, name: "\(path.rawValue): llmuxd CPU per request (sequential)", value: cpu(one[path]!), unit: "us", goal: "", met: nil))
            figures.append(
                Figure(
                    scenario: scenario, name: "\(path.rawValue): llmuxd CPU per request (x\(concurrency))", value: cpu(many[path]!), unit: "us", goal: "",
                    met: nil))
        }
        for path in Path.allCases {
            figures.append(
                Figure(scenario: scenario, name: "\(path.rawValue): requests/s (x\(concurrency))", value: rate(many[path]!), unit: "req/s", goal: "", met: nil))
        }
        for path in [Path.tcp, .unix] {
            let cpuRatio = cpu(one[path]!) / cpu(one[.socket]!)
            let ttftRatio = added(path) / added(.socket)
            let throughput = rate(many[path]!) / rate(many[.direct]!)
            figures += [
                Figure(
                    scenario: scenario, name: "\(path.rawValue) / socket: llmuxd CPU per request", value: cpuRatio, unit: "x", goal: "<= 1.3",
                    met: cpuRatio <= 1.3),
                Figure(
                    scenario: scenario, name: "\(path.rawValue) / socket: added first delta", value: ttftRatio, unit: "x", goal: "<= 1.3", met: ttftRatio <= 1.3
                ),
                Figure(
                    scenario: scenario, name: "\(path.rawValue) / direct: requests/s (x\(concurrency))", value: throughput, unit: "x", goal: ">= 0.9",
                    met: throughput >= 0.9),
            ]
        }
        return figures
    }

    /// `count` requests on `path`, `concurrency` at a time.
    private func pass(_ path: Path, _ client: HTTPClient, count: Int, concurrency: Int) async throws -> Pass {
        let cpuBefore = self.daemon.cpuSeconds
        let start = ContinuousClock.now
        let ttft: Samples
        switch path {
        case .socket:
            ttft = try await Scenarios(socket: self.daemon.socket, mock: self.mock).daemonTTFT(
                model: Self.model, count: count, concurrency: concurrency)
        case .direct, .tcp, .unix:
            ttft = try await self.http(path, client, count: count, concurrency: concurrency)
        }
        return Pass(ttft: ttft, seconds: Scenarios.seconds(.now - start), daemonCPU: self.daemon.cpuSeconds - cpuBefore, requests: count)
    }

    private func http(_ path: Path, _ client: HTTPClient, count: Int, concurrency: Int) async throws -> Samples {
        let url: String
        var model = "mock/" + Self.model
        switch path {
        case .direct:
            url = self.mock.baseURL + "/chat/completions"
            model = Self.model
        case .tcp:
            url = self.daemon.httpBaseURL + "/chat/completions"
        case .unix, .socket:
            let socket = (self.daemon.socket as NSString).deletingLastPathComponent + "/http.sock"
            let host = socket.addingPercentEncoding(withAllowedCharacters: .urlHostAllowed) ?? socket
            url = "http+unix://\(host)/v1/chat/completions"
        }
        let token = path == .tcp ? self.daemon.token : nil
        let body = ByteBuffer(string: #"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        return try await withThrowingTaskGroup(of: Samples.self) { group in
            let perWorker = max(1, count / concurrency)
            for _ in 0..<concurrency {
                group.addTask {
                    var samples = Samples()
                    for _ in 0..<perWorker {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
                        request.body = .bytes(body)
                        let start = ContinuousClock.now
                        let response = try await client.execute(request, timeout: .seconds(30))
                        guard response.status == .ok else {
                            throw BenchmarkFailure("\(path.rawValue): HTTP \(response.status.code) from \(url)")
                        }
                        guard let first = try await Scenarios.firstDelta(of: response) else {
                            throw BenchmarkFailure("\(path.rawValue): a stream from \(url) ended without a delta")
                        }
                        samples.add(first - start)
                    }
                    return samples
                }
            }
            var all = Samples()
            for try await samples in group { all.values += samples.values }
            return all
        }
    }
}

extension HTTPFrontScenario.Pass {
    mutating func merge(_ other: Self) {
        self.ttft.values += other.ttft.values
        self.seconds += other.seconds
        self.daemonCPU += other.daemonCPU
        self.requests += other.requests
    }
}
