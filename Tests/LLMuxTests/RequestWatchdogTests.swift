@testable import LLMuxEngine
import LLMuxUpstream
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers
import Testing

/// The phase deadlines of one attempt, as timers on an event loop.
@Suite("Request watchdog")
struct RequestWatchdogTests {
    /// What a watchdog reported, and when.
    final class Expiry: Sendable {
        let fired = NIOLockedValueBox<[(TimeoutPhase, ContinuousClock.Instant)]>([])
        func record(_ phase: TimeoutPhase) { self.fired.withLockedValue { $0.append((phase, .now)) } }
        var phases: [TimeoutPhase] { self.fired.withLockedValue { $0.map(\.0) } }
        var firstAt: ContinuousClock.Instant? { self.fired.withLockedValue { $0.first?.1 } }
    }

    func watchdog(_ limits: RequestWatchdog.Limits, _ expiry: Expiry, start: ContinuousClock.Instant = .now) -> RequestWatchdog {
        RequestWatchdog(limits: limits, start: start, eventLoop: MultiThreadedEventLoopGroup.singleton.any(), onTimeout: expiry.record)
    }

    @Test func headerDeadlineFiresOnce() async throws {
        let expiry = Expiry()
        let start = ContinuousClock.now
        let dog = self.watchdog(.init(header: .milliseconds(50)), expiry, start: start)
        try await Task.sleep(for: .milliseconds(400))
        #expect(expiry.phases == [.header])
        #expect(dog.expiredPhase == .header)
        #expect(try #require(expiry.firstAt) - start >= .milliseconds(50))
    }

    /// After the head arrives, a first-token limit shorter than the header limit
    /// is re-armed at once instead of waiting for the header timer.
    @Test func phaseChangeRearmsAnEarlierDeadline() async throws {
        let expiry = Expiry()
        let start = ContinuousClock.now
        let dog = self.watchdog(.init(header: .seconds(30), firstToken: .milliseconds(50)), expiry, start: start)
        dog.headersReceived()
        try await Task.sleep(for: .milliseconds(500))
        #expect(expiry.phases == [.firstToken])
        #expect(try #require(expiry.firstAt) - start < .seconds(5))
    }

    /// Reads push the idle deadline later; only a real gap fires it.
    @Test func readsKeepTheIdleDeadlineAway() async throws {
        let expiry = Expiry()
        let limit = Duration.milliseconds(1000)
        let dog = self.watchdog(.init(idle: limit), expiry)
        dog.headersReceived()
        dog.firstTokenReceived()
        // 1.5 s of reads 100 ms apart. The claim holds only if each read came within the limit
        // of the one before, so the gaps are measured: a machine too loaded to keep them under
        // the limit makes the first check meaningless, not false.
        var last = ContinuousClock.now
        var longestGap = Duration.zero
        for _ in 0..<15 {
            try await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now
            longestGap = max(longestGap, now - last)
            last = now
            dog.bytesReceived()
        }
        if longestGap < limit - .milliseconds(200) {
            #expect(expiry.phases.isEmpty, "reads at most \(longestGap) apart tripped a \(limit) idle limit")
        }
        try await Task.sleep(for: .milliseconds(2500))
        #expect(expiry.phases == [.idle])
    }

    @Test func stopDisarms() async throws {
        let expiry = Expiry()
        let dog = self.watchdog(.init(header: .milliseconds(50), total: .milliseconds(80)), expiry)
        dog.stop()
        try await Task.sleep(for: .milliseconds(300))
        #expect(expiry.phases.isEmpty)
        #expect(dog.expiredPhase == nil)
    }

    @Test func totalLimitHoldsAcrossPhases() async throws {
        let expiry = Expiry()
        let dog = self.watchdog(.init(header: .seconds(30), firstToken: .seconds(30), idle: .seconds(30), total: .milliseconds(100)), expiry)
        dog.headersReceived()
        dog.firstTokenReceived()
        try await Task.sleep(for: .milliseconds(500))
        #expect(expiry.phases == [.total])
    }
}
