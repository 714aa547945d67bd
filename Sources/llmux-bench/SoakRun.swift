import Foundation
import LLMuxClient
import LLMuxMockUpstream
import LLMuxWire
import NIOConcurrencyHelpers
import NIOCore

/// The load and soak test: many connections churn against a real llmuxd
/// process for a while with random cancels, hang-ups, malformed lines and
/// slow readers; then the daemon must be alive and idle, every upstream
/// response ended, every request answered by exactly one terminal frame, and
/// its memory back near its warm level.
struct SoakRun: Sendable {
    struct Options: Sendable {
        var connections = 200
        var duration: Duration = .seconds(60)
        /// The share of the run counted as warm-up; the RSS reference is taken right after it.
        var warmUpFraction = 0.25
        /// The llmuxd binary.
        var llmuxd = DaemonProcess.sibling("llmuxd")
    }

    struct Report: Sendable {
        var sessions = 0
        var requests = 0
        var terminals = 0
        var cancels = 0
        var hangups = 0
        var malformedLines = 0
        var slowSessions = 0
        var outcomes: [String: Int] = [:]
        var violations: [String] = []
        var violationCount = 0
        /// Daemon RSS under load, sampled once a second, in MB.
        var rssSamples: [Double] = []
        var rssWarmMB = 0.0
        var rssEndMB = 0.0
        var rssIdleMB = 0.0
        var inFlightAfter = -1
        var connectionsAfter = -1
        var activeUpstreamAfter = -1
        var daemonAlive = false

        /// Every acceptance condition, with whether it held.
        var checks: [(String, Bool)] {
            [
                ("the daemon never crashed", self.daemonAlive),
                ("status shows 0 in flight afterwards (\(self.inFlightAfter))", self.inFlightAfter == 0),
                ("status shows only the checking connection (\(self.connectionsAfter))", self.connectionsAfter == 1),
                ("no upstream response left running (\(self.activeUpstreamAfter))", self.activeUpstreamAfter == 0),
                ("every request got exactly one terminal frame (\(self.violationCount) violations)", self.violationCount == 0),
                (String(format: "RSS at the end within 10%% of warm (%.1f vs %.1f MB)", self.rssEndMB, self.rssWarmMB), self.rssEndMB <= self.rssWarmMB * 1.1),
                ("requests ran (\(self.requests))", self.requests > 0),
            ]
        }

        var passed: Bool { self.checks.allSatisfy(\.1) }

        mutating func merge(_ other: Report) {
            self.sessions += other.sessions
            self.requests += other.requests
            self.terminals += other.terminals
            self.cancels += other.cancels
            self.hangups += other.hangups
            self.malformedLines += other.malformedLines
            self.slowSessions += other.slowSessions
            self.outcomes.merge(other.outcomes, uniquingKeysWith: +)
            self.violationCount += other.violationCount
            self.violations += other.violations.prefix(max(0, 20 - self.violations.count))
        }

        mutating func violation(_ text: String) {
            self.violationCount += 1
            if self.violations.count < 20 { self.violations.append(text) }
        }
    }

    /// The mock's models the sessions choose from, with what each does.
    static let models = [
        "mock/default",  // echoes at once
        "mock/mock:chunks=40,size=8,interval_ms=5",  // trickles for 200 ms
        "mock/mock:chunks=400,size=64",  // 25 KB at full speed
        "mock/mock:status=503",  // fails before the first token
        "mock/mock:chunks=20,size=8,interval_ms=2,reset_after=5",  // breaks mid-stream
        "mock/mock:chunks=20,size=8,stall_after=3",  // goes silent: the idle timeout ends it
    ]

    let options: Options

    func run(log: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        let mock = try await MockUpstream.start()
        let daemon = try await DaemonProcess.start(
            mocks: [mock],
            extraConfig: "[timeouts]\nidle_ms = 300\nfirst_token_ms = 2000\n",
            llmuxd: self.options.llmuxd
        )
        let started = ContinuousClock.now
        let deadline = started + self.options.duration
        let warmUntil = started + self.options.duration * self.options.warmUpFraction
        typealias Sample = (at: ContinuousClock.Instant, mb: Double)
        var samples: [Sample] = []
        var report = try await withThrowingTaskGroup(of: (Report?, [Sample]).self) { group in
            for worker in 0..<self.options.connections {
                group.addTask {
                    var generator = SplitMix(seed: UInt64(worker) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
                    var total = Report()
                    var session = 0
                    while ContinuousClock.now < deadline {
                        session += 1
                        let part = try await Self.session(socket: daemon.socket, tag: "w\(worker)s\(session)", generator: &generator)
                        total.merge(part)
                    }
                    return (total, [])
                }
            }
            group.addTask {
                var samples: [Sample] = []
                while ContinuousClock.now < deadline {
                    samples.append((.now, Double(daemon.residentBytes) / 1_048_576))
                    try? await Task.sleep(for: .seconds(1))
                }
                return (nil, samples)
            }
            var merged = Report()
            for try await (part, sampled) in group {
                if let part { merged.merge(part) }
                samples += sampled
            }
            return merged
        }
        report.rssSamples = samples.map(\.mb)
        // Warm: the first samples after warm-up; end: the last ones under load. Medians of up to 5.
        func median(_ values: some Sequence<Double>) -> Double {
            let sampled = Samples(values: Array(values))
            return sampled.values.isEmpty ? 0 : sampled.percentile(0.5)
        }
        report.rssWarmMB = median(samples.filter { $0.at >= warmUntil }.prefix(5).map(\.mb))
        report.rssEndMB = median(samples.suffix(5).map(\.mb))
        // Afterwards: the daemon must drain to idle on its own.
        report.daemonAlive = daemon.isAlive
        if report.daemonAlive {
            let idleDeadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < idleDeadline {
                let status: DaemonStatus
                do {
                    status = try await Self.status(daemon.socket)
                } catch {
                    // A daemon that died is reported as such (its crash report is in its log).
                    report.daemonAlive = daemon.isAlive
                    if !report.daemonAlive { break }
                    throw error
                }
                report.inFlightAfter = status.inFlight
                report.connectionsAfter = status.connections
                report.activeUpstreamAfter = mock.activeResponses
                if status.inFlight == 0 && status.connections == 1 && mock.activeResponses == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            report.rssIdleMB = Double(daemon.residentBytes) / 1_048_576
            report.daemonAlive = report.daemonAlive && daemon.isAlive
        }
        log("soak: \(report.sessions) sessions, \(report.requests) requests in \(Self.seconds(.now - started)) s")
        await daemon.stop()
        await mock.shutdown()
        return report
    }

    static func seconds(_ duration: Duration) -> Int { Int(duration.components.seconds) }

    static func status(_ socket: String) async throws -> DaemonStatus {
        try await LLMuxConnection.withConnection(socketPath: socket) { connection in
            try await connection.send(.status(id: "soak-status"))
            for try await received in connection.frames {
                if case .status(_, let status) = received.frame { return status }
                if case .error(_, let error) = received.frame { throw BenchmarkFailure("status refused: \(error.code.rawValue): \(error.message)") }
            }
            throw BenchmarkFailure("the daemon closed the connection without a status answer")
        }
    }

    /// The longest a session may take (a slow reader of six 400-delta answers takes about 8 s).
    static let sessionLimit: Duration = .seconds(60)

    /// What a session has seen so far, for the report of one that never ends.
    struct SessionProgress: Sendable, CustomStringConvertible {
        var open: Set<String>
        var frames = 0
        var recent: [String] = []

        mutating func saw(_ raw: String) {
            self.frames += 1
            self.recent.append(String(raw.prefix(300)))
            if self.recent.count > 6 { self.recent.removeFirst() }
        }

        var description: String {
            "waiting for terminal frames of \(self.open.sorted()) after \(self.frames) frames; the last ones: \(self.recent)"
        }
    }

    /// What one session does.
    enum Behaviour: CaseIterable {
        /// Requests with random cancels and malformed lines; every terminal frame checked.
        case orderly
        /// Requests, then the client hangs up mid-stream.
        case hangup
        /// Large answers read slowly; every terminal frame checked.
        case slowReader
    }

    /// One connection's life.
    static func session(socket: String, tag: String, generator: inout SplitMix) async throws -> Report {
        var report = Report()
        report.sessions = 1
        let roll = generator.next(100)
        let behaviour: Behaviour = roll < 55 ? .orderly : roll < 80 ? .hangup : .slowReader
        let count = 1 + generator.next(6)
        var ids: [String] = []
        var cancelPlan: [String: Int] = [:]  // id -> cancel after this many deltas (0: at once)
        var malformed = 0
        var plan: [ClientFrame] = []
        for index in 0..<count {
            let id = "\(tag)r\(index)"
            let model = behaviour == .slowReader ? "mock/mock:chunks=400,size=64" : Self.models[generator.next(Self.models.count)]
            ids.append(id)
            plan.append(.chat(.userPrompt(id: id, model: model, prompt: "soak \(id)")))
            if behaviour == .orderly && generator.next(100) < 30 { cancelPlan[id] = generator.next(3) }
        }
        if behaviour == .orderly && generator.next(100) < 25 { malformed = 1 + generator.next(2) }
        let hangupAfter = generator.next(12)
        let slowDelay = Duration.milliseconds(1 + generator.next(3))
        let coalesce = generator.next(100) < 30 ? 20 : nil
        report.requests = count
        report.slowSessions = behaviour == .slowReader ? 1 : 0
        // What the session waits for, for the report when it waits too long.
        let progress = NIOLockedValueBox(SessionProgress(open: Set(ids)))
        let session: @Sendable () async throws -> Report = { [report, plan, malformed, cancelPlan, ids] in
            try await LLMuxConnection.withConnection(socketPath: socket) { connection in
                var report = report
                try await connection.send(.hello(ClientHello(client: "soak", coalesceMs: coalesce)))
                for frame in plan { try await connection.send(frame) }
                for _ in 0..<malformed { try await connection.sendRaw(ByteBuffer(string: "this is not json {\n")) }
                report.malformedLines = malformed
                for (id, after) in cancelPlan where after == 0 {
                    try await connection.send(.cancel(id: id))
                    report.cancels += 1
                }
                var frames: [String: [ServerFrame]] = [:]
                var deltas: [String: Int] = [:]
                var parseErrors = 0
                var open = Set(ids)
                var seen = 0
                var sawHello = false
                for try await received in connection.frames {
                    seen += 1
                    let frame = received.frame
                    progress.withLockedValue { $0.saw(received.raw) }
                    if case .hello = frame {
                        sawHello = true
                        continue
                    }
                    guard let id = frame.id else {
                        if case .error(_, let error) = frame, error.code == .parseError {
                            parseErrors += 1
                        } else {
                            report.violation("\(tag): unexpected frame without id: \(received.raw)")
                        }
                        // A parse error can be the last frame the session waits for (the daemon read the
                        // malformed line after the last request ended): the session is complete then too.
                        if open.isEmpty && parseErrors >= malformed { break }
                        continue
                    }
                    if !ids.contains(id) {
                        report.violation("\(tag): frame for an unknown id: \(received.raw)")
                        continue
                    }
                    frames[id, default: []].append(frame)
                    if case .delta = frame {
                        deltas[id, default: 0] += 1
                        if let after = cancelPlan[id], after > 0, deltas[id] == after {
                            try await connection.send(.cancel(id: id))
                            report.cancels += 1
                        }
                    }
                    if frame.isTerminal {
                        if !open.contains(id) { report.violation("\(tag): a second terminal frame for \(id)") }
                        open.remove(id)
                        progress.withLockedValue { [open] in $0.open = open }
                        report.terminals += 1
                        let outcome: String
                        switch frame {
                        case .done(let done): outcome = "done:\(done.finishReason)"
                        case .error(_, let error): outcome = "error:\(error.code.rawValue)"
                        default: outcome = "?"
                        }
                        report.outcomes[outcome, default: 0] += 1
                    }
                    if behaviour == .hangup && seen >= hangupAfter {
                        report.hangups = 1
                        return report
                    }
                    if behaviour == .slowReader { try await Task.sleep(for: slowDelay) }
                    if open.isEmpty && parseErrors >= malformed { break }
                }
                if !sawHello { report.violation("\(tag): no hello answer") }
                if !open.isEmpty { report.violation("\(tag): the connection ended before terminal frames for \(open.sorted())") }
                if parseErrors != malformed { report.violation("\(tag): \(malformed) malformed lines got \(parseErrors) parse errors") }
                for id in ids { Self.checkOrder(frames[id] ?? [], id: id, tag: tag, into: &report) }
                return report
            }
        }
        // A session that waits longer than any of its behaviours can take has lost a frame (or the
        // daemon hangs): that is a violation with what it waited for, never a hang of the soak.
        let worked = try await withThrowingTaskGroup(of: Report?.self) { group -> Report in
            group.addTask { try await session() }
            group.addTask {
                try await Task.sleep(for: Self.sessionLimit)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            if let first { return first }
            var timedOut = report
            timedOut.violation(progress.withLockedValue { "\(tag): no end after \(Self.sessionLimit): \($0)" })
            return timedOut
        }
        return worked
    }

    /// start, deltas numbered 0, 1, 2, ..., one terminal frame last (or one error alone).
    static func checkOrder(_ frames: [ServerFrame], id: String, tag: String, into report: inout Report) {
        guard let last = frames.last, last.isTerminal else { return }
        if frames.count == 1, case .error = last { return }
        guard case .start? = frames.first else {
            report.violation("\(tag)/\(id): first frame is not start")
            return
        }
        var expected = 0
        for frame in frames.dropFirst().dropLast() {
            guard case .delta(let delta) = frame, delta.seq == expected else {
                report.violation("\(tag)/\(id): frames out of order or seq gap at \(expected)")
                return
            }
            expected += 1
        }
    }
}

/// A small seeded random generator, so a failing soak can be replayed.
struct SplitMix: Sendable {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }

    mutating func next(_ bound: Int) -> Int {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(bound))
    }
}
