import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import Testing

/// Routes over several targets against the fault-injecting mock upstream:
/// fallback triggers, statuses passed through, shared cooldowns, circuit
/// breakers, hedging, the latency strategy, key refresh and queueing.
@Suite("Routing and fallback")
struct RoutingTests {
    static func route(_ name: String, _ models: [String], strategy: RouteConfig.Strategy = .fallback) -> RouteConfig {
        RouteConfig(name: name, targets: models.map { RouteTarget(provider: "mock", upstreamModel: $0) }, strategy: strategy)
    }

    func chat(_ daemon: TestDaemon, id: String = "r", model: String = "smart", extra: String = "") async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: chatLine(id, model: model, extra: extra))
            return try await FrameLog.read(from: connection, until: [id])
        }
    }

    func attempts(_ log: FrameLog, _ id: String = "r") -> [AttemptRecord] {
        switch log.terminal(id) {
        case .done(let done)?: return done.attempts
        case .error(_, let error)?: return error.attempts ?? []
        default: return []
        }
    }

    func requests(_ daemon: TestDaemon, model: String) -> Int {
        daemon.mock.requests.filter { $0.body?["model"]?.stringValue == model }.count
    }

    /// An open breaker fails the request at once with circuit_open; it is not waited for like a cooldown,
    /// however long the request's deadline.
    @Test func openBreakerFailsAtOnceWithoutWaiting() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.router.breakerFailures = 2
            config.router.breakerOpenMs = 30_000
        }) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "down")
            for id in ["f1", "f2"] {
                guard case .error(_, let error)? = try await chat(daemon, id: id, model: "mock/down").terminal(id) else {
                    Issue.record("\(id) did not fail")
                    return
                }
                #expect(error.code == .upstreamHTTP)
            }
            let started = ContinuousClock.now
            let log = try await chat(daemon, id: "open", model: "mock/down", extra: #","timeout_ms":120000"#)
            let elapsed = ContinuousClock.now - started
            guard case .error(_, let error)? = log.terminal("open") else {
                Issue.record("expected circuit_open, got \(String(describing: log.terminal("open")))")
                return
            }
            #expect(error.code == .circuitOpen)
            #expect((error.retryAfterMs ?? 0) > 20_000, "retry_after_ms says when the breaker lets a probe through")
            // Structural: waiting for the breaker would take its 30 s open time.
            #expect(elapsed < .seconds(15), "the request waited \(elapsed) for an open breaker")
            #expect(attempts(log, "open").map(\.outcome) == ["circuit_open"])
            #expect(requests(daemon, model: "down") == 2, "the open target was not contacted")
        }
    }

    struct Trigger: Sendable, CustomTestStringConvertible {
        var name: String
        var script: MockScript
        var outcome: String
        var status: Int?
        /// Short header and first-token limits on the failing target (only where the trigger is a timeout,
        /// so a loaded machine cannot turn another trigger into a timeout).
        var shortTimeouts = false
        var testDescription: String { self.name }
    }

    static let triggers: [Trigger] = [
        Trigger(name: "408", script: .httpError(408), outcome: "upstream_http", status: 408),
        Trigger(name: "409", script: .httpError(409), outcome: "upstream_http", status: 409),
        Trigger(name: "425", script: .httpError(425), outcome: "upstream_http", status: 425),
        Trigger(name: "429", script: .httpError(429), outcome: "upstream_http", status: 429),
        Trigger(name: "500", script: .httpError(500), outcome: "upstream_http", status: 500),
        Trigger(name: "502", script: .httpError(502), outcome: "upstream_http", status: 502),
        Trigger(name: "503", script: .httpError(503), outcome: "upstream_http", status: 503),
        Trigger(name: "504", script: .httpError(504), outcome: "upstream_http", status: 504),
        Trigger(name: "529", script: .httpError(529), outcome: "upstream_http", status: 529),
        Trigger(name: "reset before headers", script: MockScript(fault: .resetBeforeHeaders), outcome: "upstream_connect"),
        Trigger(name: "header timeout", script: MockScript(fault: .stallHeaders), outcome: "upstream_timeout", shortTimeouts: true),
        Trigger(name: "first-token timeout", script: MockScript(firstTokenDelayMs: 5000), outcome: "upstream_timeout", shortTimeouts: true),
        Trigger(
            name: "idle stall before the first token", script: MockScript(chunks: ["a"], fault: .stallAfterChunks(0)), outcome: "upstream_timeout",
            shortTimeouts: true),
        Trigger(name: "end before the first token", script: MockScript(chunks: ["a"], fault: .endAfterChunks(0)), outcome: "upstream_truncated"),
        Trigger(name: "reset before the first token", script: MockScript(chunks: ["a"], fault: .resetAfterChunks(0)), outcome: "upstream_truncated"),
        Trigger(
            name: "error event before the first token", script: MockScript(chunks: ["a"], fault: .errorEventAfterChunks(0, message: "overloaded")),
            outcome: "upstream_error"),
        Trigger(
            name: "malformed event before the first token", script: MockScript(chunks: ["a"], fault: .malformedAfterChunks(0)), outcome: "upstream_protocol"),
    ]

    @Test(arguments: triggers)
    func eachFallbackTriggerMovesToTheNextTarget(_ trigger: Trigger) async throws {
        // Short limits on the failing target's provider only (provider-level timeouts), so
        // the healthy target keeps the generous defaults even on a loaded machine.
        try await TestDaemon.with(configure: { config, mock in
            var flaky = ProviderConfig(name: "flaky", baseURL: mock.baseURL, keySource: .none, http1Only: true)
            if trigger.shortTimeouts { flaky.timeouts = TimeoutOverrides(headerMs: 300, firstTokenMs: 300) }
            config.providers["flaky"] = flaky
            config.routes["smart"] = RouteConfig(
                name: "smart",
                targets: [RouteTarget(provider: "flaky", upstreamModel: "bad"), RouteTarget(provider: "mock", upstreamModel: "good")]
            )
        }) { daemon in
            daemon.mock.setScript(trigger.script, forModel: "bad")
            daemon.mock.setScript(MockScript(chunks: ["fine"]), forModel: "good")
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("expected done, got \(String(describing: log.terminal("r")))")
                return
            }
            #expect(log.text("r") == "fine")
            #expect(done.provider == "mock")
            #expect(done.model == "good")
            #expect(done.route == "smart")
            #expect(done.attempts.map(\.target) == ["flaky/bad", "mock/good"])
            #expect(done.attempts.map(\.outcome) == [trigger.outcome, "ok"])
            #expect(done.attempts.first?.httpStatus == trigger.status)
            // `start` names the target that streamed, not the one that failed.
            guard case .start(_, let model, _, let route)? = log.frames("r").first else {
                Issue.record("no start")
                return
            }
            #expect(model == "good")
            #expect(route == "smart")
        }
    }

    @Test(arguments: [400, 401, 403, 404, 413, 422])
    func nonRetryableStatusesReachTheClientUnchanged(_ status: Int) async throws {
        try await TestDaemon.with(configure: { config, _ in config.routes["smart"] = Self.route("smart", ["bad", "good"]) }) { daemon in
            daemon.mock.setScript(.httpError(status, body: #"{"error":{"message":"status \#(status) from upstream"}}"#), forModel: "bad")
            daemon.mock.setScript(MockScript(chunks: ["fine"]), forModel: "good")
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            guard case .error(_, let error)? = log.terminal("r") else {
                Issue.record("expected an error")
                return
            }
            #expect(error.httpStatus == status)
            #expect(error.code == (status == 401 || status == 403 ? .authFailed : .upstreamHTTP))
            #expect(error.message.contains("status \(status) from upstream"))
            #expect(error.attempts?.map(\.target) == ["mock/bad"])
            #expect(requests(daemon, model: "good") == 0, "a client error must not be retried elsewhere")
        }
    }

    @Test func fallbackStatusesAreConfigurablePerRoute() async throws {
        try await TestDaemon.with(configure: { config, _ in
            var route = Self.route("smart", ["bad", "good"])
            route.fallbackStatuses = [404]
            config.routes["smart"] = route
        }) { daemon in
            daemon.mock.setScript(.httpError(404), forModel: "bad")
            daemon.mock.setScript(MockScript(chunks: ["fine"]), forModel: "good")
            #expect(log(try await chat(daemon)) == "done")
            daemon.mock.setScript(.httpError(503), forModel: "bad")
            let second = try await chat(daemon, id: "r2")
            #expect(log(second, "r2") == "upstream_http")
            #expect(attempts(second, "r2").count == 1)
        }
    }

    func log(_ log: FrameLog, _ id: String = "r") -> String {
        switch log.terminal(id) {
        case .done?: return "done"
        case .error(_, let error)?: return error.code.rawValue
        default: return "none"
        }
    }

    @Test func everyTargetFailingGivesTheLastErrorWithAllAttempts() async throws {
        try await TestDaemon.with(configure: { config, _ in config.routes["smart"] = Self.route("smart", ["a", "b", "c"]) }) { daemon in
            daemon.mock.setScript(.httpError(500), forModel: "a")
            daemon.mock.setScript(.httpError(502), forModel: "b")
            daemon.mock.setScript(.httpError(503), forModel: "c")
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            guard case .error(_, let error)? = log.terminal("r") else {
                Issue.record("expected an error")
                return
            }
            #expect(error.httpStatus == 503)
            #expect(error.attempts?.map(\.httpStatus) == [500, 502, 503])
        }
    }

    @Test func cooldownIsSharedAcrossClients() async throws {
        try await TestDaemon.with(configure: { config, _ in config.routes["smart"] = Self.route("smart", ["limited", "good"]) }) { daemon in
            daemon.mock.setScript(.httpError(429, headers: ["retry-after": "20"]), forModel: "limited")
            daemon.mock.setScript(MockScript(chunks: ["fine"]), forModel: "good")
            // Client A meets the 429 and falls back.
            let first = try await chat(daemon, id: "a")
            #expect(attempts(first, "a").map(\.outcome) == ["upstream_http", "ok"])
            // Client B, on its own connection within the 20 s, skips the target without touching it.
            let second = try await chat(daemon, id: "b")
            #expect(attempts(second, "b").map(\.outcome) == ["cooldown", "ok"])
            #expect(attempts(second, "b").first?.target == "mock/limited")
            #expect(requests(daemon, model: "limited") == 1, "the cooling target was contacted again")
            // `status` shows the cooldown.
            let status = try await daemon.connect { connection -> DaemonStatus? in
                try await connection.send(.status(id: "s"))
                for try await received in connection.frames {
                    if case .status(_, let status) = received.frame { return status }
                }
                return nil
            }
            let limited = status?.targets.first { $0.target == "mock/limited" }
            #expect(limited?.state == "cooldown")
            #expect((limited?.retryInMs ?? 0) > 0)
            #expect(status?.targets.first { $0.target == "mock/good" }?.state == "ok")
        }
    }

    /// The decision is unit-tested in `RouteStateMachineTests`; this checks the timer really waits.
    /// Exclusive: the second request must start within the first one's 1 s cooldown.
    @Test(.tags(.realTime), .fullTierOnly) func aCoolingLastTargetIsWaitedForWhenTheDeadlineAllows() async throws {
        try await TestDaemon.with(exclusive: true, configure: { config, _ in config.routes["smart"] = Self.route("smart", ["only"]) }) { daemon in
            daemon.mock.setScript(.httpError(429, headers: ["retry-after-ms": "1000"]), forModel: "only")
            _ = try await chat(daemon, id: "prime", extra: #","timeout_ms":100"#)
            daemon.mock.setScript(MockScript(chunks: ["after the wait"]), forModel: "only")
            let started = ContinuousClock.now
            let log = try await chat(daemon)
            #expect(log.text("r") == "after the wait")
            #expect(attempts(log).map(\.outcome) == ["cooldown", "ok"])
            #expect(ContinuousClock.now - started >= .milliseconds(300), "the request did not wait for the cooldown")
        }
    }

    @Test func aCooldownBeyondTheDeadlineIsRateLimited() async throws {
        try await TestDaemon.with(configure: { config, _ in config.routes["smart"] = Self.route("smart", ["only"]) }) { daemon in
            daemon.mock.setScript(.httpError(429, headers: ["retry-after": "30"]), forModel: "only")
            _ = try await chat(daemon, id: "prime", extra: #","timeout_ms":5000"#)
            let log = try await chat(daemon, extra: #","timeout_ms":5000"#)
            #expect(log.isWellFormed("r"))
            guard case .error(_, let error)? = log.terminal("r") else {
                Issue.record("expected rate_limited")
                return
            }
            #expect(error.code == .rateLimited)
            #expect(error.retryable)
            #expect((error.retryAfterMs ?? 0) > 25_000)
            #expect(requests(daemon, model: "only") == 1)
        }
    }

    @Test func circuitBreakerOpensAndHalfOpens() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.router.breakerFailures = 2
            config.router.breakerOpenMs = 3000
            config.routes["smart"] = Self.route("smart", ["flaky", "good"])
        }) { daemon in
            daemon.mock.setScript(.httpError(500), forModel: "flaky")
            daemon.mock.setScript(MockScript(chunks: ["fine"]), forModel: "good")
            _ = try await chat(daemon, id: "a")
            _ = try await chat(daemon, id: "b")
            let third = try await chat(daemon, id: "c")
            #expect(attempts(third, "c").map(\.outcome) == ["circuit_open", "ok"])
            #expect(requests(daemon, model: "flaky") == 2)
            // After the open period one probe goes through; it succeeds and closes the breaker.
            daemon.mock.setScript(MockScript(chunks: ["recovered"]), forModel: "flaky")
            try await Task.sleep(for: .milliseconds(3100))
            let probe = try await chat(daemon, id: "d")
            #expect(probe.text("d") == "recovered")
            #expect(attempts(probe, "d").map(\.outcome) == ["ok"])
        }
    }

    @Test func retriesWithinATargetBackOff() async throws {
        try await TestDaemon.with(configure: { config, _ in
            var route = Self.route("smart", ["flaky"])
            route.retries = 2
            route.backoffMs = 50
            config.routes["smart"] = route
        }) { daemon in
            daemon.mock.setScript(.httpError(502), forModel: "flaky")
            let started = ContinuousClock.now
            let log = try await chat(daemon)
            #expect(attempts(log).map(\.httpStatus) == [502, 502, 502])
            #expect(requests(daemon, model: "flaky") == 3)
            // 50 ms * (0.5..1) + 100 ms * (0.5..1): at least 75 ms of backoff.
            #expect(ContinuousClock.now - started >= .milliseconds(75))
        }
    }

    /// The slow target would answer after 3 s with "slow": "fast" as the answer shows the hedge
    /// started (its timing is unit-tested in `RouteStateMachineTests`).
    @Test func hedgeWinnerStreamsAndTheLoserIsClosed() async throws {
        try await TestDaemon.with(
            configure: { config, _ in
                config.routes["smart"] = Self.route("smart", ["slow", "fast"], strategy: .hedge(delayMs: 100))
            }
        ) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["slow"], firstTokenDelayMs: 3000), forModel: "slow")
            daemon.mock.setScript(MockScript(chunks: ["fast"]), forModel: "fast")
            let log = try await chat(daemon)
            #expect(log.isWellFormed("r"))
            #expect(log.text("r") == "fast")
            guard case .done(let done)? = log.terminal("r") else {
                Issue.record("expected done")
                return
            }
            #expect(done.model == "fast")
            #expect(Set(done.attempts.map(\.outcome)) == ["hedge_lost", "ok"])
            // The loser's upstream connection closes.
            let slowConnection = try #require(daemon.mock.requests.first { $0.body?["model"]?.stringValue == "slow" }?.connectionID)
            #expect(await daemon.mock.waitForClose(ofConnection: slowConnection, timeout: .seconds(1)) != nil)
        }
    }

    @Test func hedgeDoesNotStartTheSecondTargetWhenTheFirstIsQuick() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.routes["smart"] = Self.route("smart", ["first", "second"], strategy: .hedge(delayMs: 10_000))
        }) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["one"]), forModel: "first")
            let log = try await chat(daemon)
            #expect(log.text("r") == "one")
            #expect(requests(daemon, model: "second") == 0)
        }
    }

    /// Every hedged target fails before the hedge delay: the next one starts as soon as the first
    /// fails, and the request ends with the last error instead of waiting for the hedge timer (it
    /// keeps no hedge timer counted as pending work).
    @Test func hedgeWhoseTargetsAllFailEndsWithTheLastError() async throws {
        try await TestDaemon.with(configure: { config, _ in
            // A hedge delay far beyond the wait below: ending at all shows the timer was not waited for.
            config.routes["smart"] = Self.route("smart", ["bad1", "bad2"], strategy: .hedge(delayMs: 120_000))
        }) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "bad1")
            daemon.mock.setScript(.httpError(503), forModel: "bad2")
            let log = try await withThrowingTaskGroup(of: FrameLog?.self) { group in
                group.addTask { try await chat(daemon) }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            guard let log else {
                Issue.record("the request had not ended after 60 s: it waited for the 120 s hedge timer")
                return
            }
            guard case .error(_, let error)? = log.terminal("r") else {
                Issue.record("expected an error, got \(String(describing: log.terminal("r")))")
                return
            }
            #expect(error.code == .upstreamHTTP)
            #expect(attempts(log).map(\.httpStatus) == [503, 503])
        }
    }

    @Test func latencyStrategyMovesTrafficToTheFasterTarget() async throws {
        // The slow target's 1.5 s head start keeps the order clear on a loaded machine.
        try await TestDaemon.with(
            configure: { config, _ in
                config.router.exploration = 0
                config.routes["smart"] = Self.route("smart", ["slow", "fast"], strategy: .latency)
            }
        ) { daemon in
            daemon.mock.setScript(MockScript(chunks: ["s"], firstTokenDelayMs: 1_500), forModel: "slow")
            daemon.mock.setScript(MockScript(chunks: ["f"]), forModel: "fast")
            var served: [String] = []
            for index in 0..<8 {
                let log = try await chat(daemon, id: "r\(index)")
                served.append(log.text("r\(index)"))
            }
            // Both are measured once, then everything goes to the faster one.
            #expect(served.suffix(6).allSatisfy { $0 == "f" }, "\(served)")
            #expect(requests(daemon, model: "slow") == 1)
        }
    }

    @Test func aFailedKeyCommandIsRunAgainOnceAfter401() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let keyFile = directory + "/key"
        try "old-key".write(toFile: keyFile, atomically: true, encoding: .utf8)
        try await TestDaemon.with(configure: { config, mock in
            config.providers["vault"] = ProviderConfig(name: "vault", baseURL: mock.baseURL, keySource: .command(["/bin/cat", keyFile]), http1Only: true)
        }) { daemon in
            var script = MockScript(chunks: ["ok"])
            script.requiredAuthorization = "Bearer old-key"
            daemon.mock.setScript(script, forModel: "m")
            #expect(log(try await chat(daemon, id: "a", model: "vault/m"), "a") == "done")
            // The key rotates: the cached one now gets 401, the command runs again, the retry succeeds.
            try "new-key".write(toFile: keyFile, atomically: true, encoding: .utf8)
            script.requiredAuthorization = "Bearer new-key"
            daemon.mock.setScript(script, forModel: "m")
            let rotated = try await chat(daemon, id: "b", model: "vault/m")
            #expect(log(rotated, "b") == "done")
            #expect(attempts(rotated, "b").map(\.outcome) == ["auth_failed", "ok"])
            // A key that stays wrong is not retried forever: one re-run, then auth_failed.
            script.requiredAuthorization = "Bearer other-key"
            daemon.mock.setScript(script, forModel: "m")
            let wrong = try await chat(daemon, id: "c", model: "vault/m")
            #expect(log(wrong, "c") == "auth_failed")
            #expect(attempts(wrong, "c").count == 2)
        }
    }

    @Test(.tags(.realTime), .fullTierOnly) func interactiveRequestsGoAheadOfBackgroundOnesInAProviderQueue() async throws {
        // Exclusive, and waiting for each step: the order must not depend on scheduling luck.
        try await TestDaemon.with(exclusive: true, configure: { config, _ in config.providers["mock"]?.maxInflight = 1 }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["x"], firstTokenDelayMs: 1000))
            try await daemon.connect { background in
                try await background.send(.hello(ClientHello(client: "batch", priority: .background)))
                try await background.send(line: chatLine("bg1"))
                // bg1 holds the provider's only slot...
                for _ in 0..<200 where daemon.mock.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                try #require(daemon.mock.requests.count == 1)
                // ...bg2 queues behind it, then the interactive request arrives.
                try await background.send(line: chatLine("bg2"))
                try await Task.sleep(for: .milliseconds(300))
                try await daemon.connect { interactive in
                    try await interactive.send(.hello(ClientHello(client: "editor", priority: .interactive)))
                    try await interactive.send(line: chatLine("i1"))
                    _ = try await FrameLog.read(from: interactive, until: ["i1"])
                }
                _ = try await FrameLog.read(from: background, until: ["bg1", "bg2"])
            }
            let order = daemon.mock.requests.compactMap { request -> String? in
                guard case .array(let messages)? = request.body?["messages"] else { return nil }
                return messages.first?["content"]?.stringValue
            }
            #expect(order == ["hello bg1", "hello i1", "hello bg2"])
        }
    }

    @Test func queueTimeCountsTowardTheDeadline() async throws {
        try await TestDaemon.with(configure: { config, _ in config.providers["mock"]?.maxInflight = 1 }) { daemon in
            // "long" holds the slot for 3 s: on a loaded machine "short" must still queue behind it.
            daemon.mock.setDefaultScript(MockScript(chunks: ["x"], firstTokenDelayMs: 3000))
            let log = try await daemon.connect { connection in
                try await connection.send(line: chatLine("long"))
                // "long" holds the provider's one slot once its request reached the mock (a fixed
                // pause was not enough on a loaded CI machine: "short" sometimes got the slot first).
                let deadline = ContinuousClock.now + .seconds(10)
                while daemon.mock.requests.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                try #require(!daemon.mock.requests.isEmpty, "the first request never reached the mock")
                try await connection.send(line: chatLine("short", extra: #","timeout_ms":300"#))
                return try await FrameLog.read(from: connection, until: ["long", "short"])
            }
            guard case .error(_, let error)? = log.terminal("short") else {
                Issue.record("expected a timeout")
                return
            }
            #expect(error.code == .upstreamTimeout)
            #expect(error.message.contains("free slot"), "\(error.message)")
        }
    }
}

@Suite("Cost strategy")
struct CostStrategyTests {
    @Test func cheapestEstimatedTargetGoesFirst() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.prices["mock/dear"] = PriceOverride(inputPerMillion: 10, outputPerMillion: 30)
            config.prices["mock/cheap"] = PriceOverride(inputPerMillion: 0.1, outputPerMillion: 0.4)
            config.routes["thrifty"] = RouteConfig(
                name: "thrifty",
                targets: ["unpriced", "dear", "cheap"].map { RouteTarget(provider: "mock", upstreamModel: $0) },
                strategy: .cost
            )
        }) { daemon in
            daemon.mock.setScript(.httpError(503), forModel: "cheap")
            let log = try await daemon.connect { connection in
                try await connection.send(line: chatLine("c", model: "thrifty"))
                return try await FrameLog.read(from: connection, until: ["c"])
            }
            guard case .done(let done)? = log.terminal("c") else {
                Issue.record("expected done")
                return
            }
            // cheap (failing) first, then dear; the unpriced target comes last.
            #expect(done.attempts.map(\.target) == ["mock/cheap", "mock/dear"])
            #expect(done.model == "dear")
        }
    }
}
