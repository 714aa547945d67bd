@testable import LLMuxEngine
import LLMuxUpstream
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// The phase deadlines of one attempt, as timers on an event loop whose clock the test moves:
/// no sleeping, so the limits can be checked to the millisecond.
@Suite("Request watchdog")
struct RequestWatchdogTests {
    /// What a watchdog reported, and at what loop time.
    final class Expiry: Sendable {
        let fired = NIOLockedValueBox<[(TimeoutPhase, NIODeadline)]>([])
        var phases: [TimeoutPhase] { self.fired.withLockedValue { $0.map(\.0) } }
        var firstAt: NIODeadline? { self.fired.withLockedValue { $0.first?.1 } }
    }

    func watchdog(_ limits: RequestWatchdog.Limits, _ expiry: Expiry, on loop: EmbeddedEventLoop, elapsed: Duration = .zero) -> RequestWatchdog {
        RequestWatchdog(limits: limits, elapsed: elapsed, eventLoop: loop) { phase in
            expiry.fired.withLockedValue { $0.append((phase, loop.now)) }
        }
    }

    @Test func headerDeadlineFiresOnceAtItsLimit() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let expiry = Expiry()
        let start = loop.now
        let dog = self.watchdog(.init(header: .milliseconds(50)), expiry, on: loop)
        loop.advanceTime(by: .milliseconds(49))
        #expect(expiry.phases.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(expiry.phases == [.header])
        #expect(expiry.firstAt == start + .milliseconds(50))
        loop.advanceTime(by: .seconds(10))
        #expect(expiry.phases == [.header], "a deadline fires once")
        #expect(dog.expiredPhase == .header)
    }

    /// After the head arrives, a first-token limit shorter than the header limit
    /// is re-armed at once instead of waiting for the header timer.
    @Test func phaseChangeRearmsAnEarlierDeadline() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let expiry = Expiry()
        let dog = self.watchdog(.init(header: .seconds(30), firstToken: .milliseconds(50)), expiry, on: loop)
        loop.advanceTime(by: .milliseconds(10))
        dog.headersReceived()
        loop.advanceTime(by: .milliseconds(49))
        #expect(expiry.phases.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(expiry.phases == [.firstToken])
        #expect(expiry.firstAt.map { $0 - loop.now } == .zero)
    }

    /// Reads push the idle deadline later; only a real gap fires it.
    @Test func readsKeepTheIdleDeadlineAway() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let expiry = Expiry()
        let dog = self.watchdog(.init(idle: .milliseconds(1000)), expiry, on: loop)
        dog.headersReceived()
        dog.firstTokenReceived()
        for _ in 0..<15 {
            loop.advanceTime(by: .milliseconds(999))
            dog.bytesReceived()
        }
        #expect(expiry.phases.isEmpty, "reads 999 ms apart tripped a 1000 ms idle limit")
        loop.advanceTime(by: .milliseconds(999))
        #expect(expiry.phases.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(expiry.phases == [.idle])
    }

    @Test func stopDisarms() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        let expiry = Expiry()
        let dog = self.watchdog(.init(header: .milliseconds(50), total: .milliseconds(80)), expiry, on: loop)
        dog.stop()
        loop.advanceTime(by: .seconds(1))
        #expect(expiry.phases.isEmpty)
        #expect(dog.expiredPhase == nil)
    }

    @Test func totalLimitHoldsAcrossPhasesAndCountsTimeAlreadySpent() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        // Away from the embedded clock's zero, below which a deadline cannot go.
        loop.advanceTime(by: .seconds(1))
        let expiry = Expiry()
        // 30 ms already went into waiting for a provider slot.
        let dog = self.watchdog(
            .init(header: .seconds(30), firstToken: .seconds(30), idle: .seconds(30), total: .milliseconds(100)),
            expiry,
            on: loop,
            elapsed: .milliseconds(30)
        )
        dog.headersReceived()
        dog.firstTokenReceived()
        loop.advanceTime(by: .milliseconds(69))
        #expect(expiry.phases.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(expiry.phases == [.total])
    }
}
