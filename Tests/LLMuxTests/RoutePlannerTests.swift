import LLMuxConfig
import LLMuxRouting
import Testing

/// A seeded generator, so strategy tests are deterministic.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Route strategies and target health")
struct RoutePlannerTests {
    let a = RouteTarget(provider: "p", upstreamModel: "a")
    let b = RouteTarget(provider: "p", upstreamModel: "b")
    let c = RouteTarget(provider: "q", upstreamModel: "c")

    @Test func weightedOrderFollowsTheWeights() {
        let board = TargetHealthBoard(settings: RouterConfig())
        let planner = RoutePlanner(board: board, exploration: 0)
        let route = RouteConfig(name: "w", targets: [a, b, c], strategy: .weighted([3, 1, 0]))
        var generator = SplitMix64(state: 42)
        var firsts: [RouteTarget: Int] = [:]
        for _ in 0..<4000 {
            let order = planner.order(route, using: &generator)
            #expect(Set(order) == [a, b, c])
            #expect(order.last == c, "a zero weight is never drawn before a positive one")
            firsts[order[0], default: 0] += 1
        }
        // 3:1 within a few percent.
        #expect((2800...3200).contains(firsts[a] ?? 0), "\(firsts)")
        #expect((800...1200).contains(firsts[b] ?? 0), "\(firsts)")
    }

    @Test func latencyOrderPrefersUnmeasuredThenFastestAndExplores() {
        let board = TargetHealthBoard(settings: RouterConfig())
        let route = RouteConfig(name: "l", targets: [a, b, c], strategy: .latency)
        var generator = SplitMix64(state: 7)
        board.report(.firstToken(ttft: .milliseconds(300)), for: a)
        board.report(.firstToken(ttft: .milliseconds(20)), for: b)
        #expect(RoutePlanner(board: board, exploration: 0).order(route, using: &generator) == [c, b, a])
        board.report(.firstToken(ttft: .milliseconds(100)), for: c)
        #expect(RoutePlanner(board: board, exploration: 0).order(route, using: &generator) == [b, c, a])
        // With exploration, about that share of requests start elsewhere.
        let exploring = RoutePlanner(board: board, exploration: 0.1)
        let elsewhere = (0..<2000).filter { _ in exploring.order(route, using: &generator).first != b }.count
        #expect((120...280).contains(elsewhere), "\(elsewhere) of 2000")
    }

    /// A target failing thousands of times: its latency penalty stays finite and capped (uncapped it
    /// reached infinity and `status` crashed, found by the soak test) and old errors are forgotten.
    @Test func endlessFailuresKeepTheBoardFiniteAndBounded() {
        let board = TargetHealthBoard(settings: RouterConfig())
        let start = ContinuousClock.now
        for index in 0..<5_000 { board.report(.failure, for: a, now: start + .milliseconds(index)) }
        let penalty = board.ewmaTTFTMs(of: a) ?? .infinity
        #expect(penalty.isFinite && penalty <= 3_600_000)
        let snapshot = board.snapshot(now: start + .seconds(5))
        #expect(snapshot.first?.ewmaTTFTMs == 3_600_000)
        #expect(snapshot.first?.failures == 5_000)
        // Six minutes later one more failure: only it is recent.
        board.report(.failure, for: a, now: start + .seconds(360))
        #expect(board.snapshot(now: start + .seconds(360)).first?.recentErrors == 1)
    }

    @Test func breakerOpensAfterConsecutiveFailuresAndLetsOneProbeThrough() {
        var settings = RouterConfig()
        settings.breakerFailures = 3
        settings.breakerOpenMs = 1000
        let board = TargetHealthBoard(settings: settings)
        let start = ContinuousClock.now
        for _ in 0..<2 { board.report(.failure, for: a, now: start) }
        #expect(board.claim(a, now: start) == .available)
        board.report(.neutral, for: a, now: start)
        board.report(.failure, for: a, now: start)
        guard case .circuitOpen = board.claim(a, now: start + .milliseconds(500)) else {
            Issue.record("the breaker did not open after 3 failures")
            return
        }
        // Half-open: exactly one probe.
        #expect(board.claim(a, now: start + .milliseconds(1100)) == .available)
        guard case .circuitOpen = board.claim(a, now: start + .milliseconds(1150)) else {
            Issue.record("a second request got through while the probe runs")
            return
        }
        // A failed probe opens it again; a successful one closes it.
        board.report(.failure, for: a, now: start + .milliseconds(1200))
        guard case .circuitOpen = board.claim(a, now: start + .milliseconds(1300)) else {
            Issue.record("a failed probe did not reopen the breaker")
            return
        }
        #expect(board.claim(a, now: start + .milliseconds(2300)) == .available)
        board.report(.success, for: a, now: start + .milliseconds(2400))
        #expect(board.claim(a, now: start + .milliseconds(2400)) == .available)
        #expect(board.claim(a, now: start + .milliseconds(2400)) == .available)
        #expect(board.snapshot(now: start + .milliseconds(2400)).first?.state == "ok")
    }

    @Test func rateLimitSetsACooldownThatEnds() {
        let board = TargetHealthBoard(settings: RouterConfig())
        let start = ContinuousClock.now
        board.report(.rateLimited(retryAfterMs: 2000), for: b, now: start)
        #expect(board.claim(b, now: start + .milliseconds(1999)) == .coolingDown(until: start + .milliseconds(2000)))
        #expect(board.claim(a, now: start) == .available, "a cooldown is per target")
        #expect(board.claim(b, now: start + .milliseconds(2000)) == .available)
        // Without a Retry-After the default cooldown applies.
        board.report(.rateLimited(retryAfterMs: 0), for: c, now: start)
        #expect(board.claim(c, now: start + .milliseconds(500)) == .coolingDown(until: start + .milliseconds(1000)))
    }
}
