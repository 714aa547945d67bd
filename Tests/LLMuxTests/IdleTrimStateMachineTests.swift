import LLMuxDaemon
import Testing

/// When llmuxd returns freed heap memory: once per burst, after the quiet period, never while a
/// request runs. Time is a value passed in; nothing sleeps.
@Suite("Idle memory trim")
struct IdleTrimStateMachineTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { self.start + .milliseconds(Int(seconds * 1000)) }

    @Test func aFreshIdleDaemonIsNeverTrimmed() {
        var machine = IdleTrimStateMachine(quietPeriod: .seconds(2))
        for second in 0..<10 {
            #expect(machine.tick(inFlight: 0, total: 0, now: self.at(Double(second))) == .none)
        }
    }

    @Test func aBurstIsTrimmedOnceAfterTheQuietPeriod() {
        var machine = IdleTrimStateMachine(quietPeriod: .seconds(2))
        #expect(machine.tick(inFlight: 5, total: 5, now: self.at(0)) == .none)
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(1)) == .none)  // quiet from here
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(2)) == .none)  // 1 s quiet
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(3)) == .trim)  // 2 s quiet
        for second in 4..<10 {
            #expect(machine.tick(inFlight: 0, total: 5, now: self.at(Double(second))) == .none)
        }
    }

    @Test func neverWhileARequestRuns() {
        var machine = IdleTrimStateMachine(quietPeriod: .seconds(2))
        for second in 0..<10 {
            #expect(machine.tick(inFlight: 1, total: 1, now: self.at(Double(second))) == .none)
        }
        #expect(machine.tick(inFlight: 0, total: 1, now: self.at(10)) == .none)
        #expect(machine.tick(inFlight: 0, total: 1, now: self.at(12)) == .trim)
    }

    @Test func requestsThatCameAndWentBetweenTicksRestartTheQuietPeriod() {
        var machine = IdleTrimStateMachine(quietPeriod: .seconds(2))
        #expect(machine.tick(inFlight: 0, total: 3, now: self.at(0)) == .none)
        #expect(machine.tick(inFlight: 0, total: 3, now: self.at(1.5)) == .none)
        // Two short requests ran entirely between these ticks: not quiet since 0 s.
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(2.5)) == .none)
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(4)) == .none)
        #expect(machine.tick(inFlight: 0, total: 5, now: self.at(4.5)) == .trim)
    }

    @Test func theNextBurstIsTrimmedAgain() {
        var machine = IdleTrimStateMachine(quietPeriod: .seconds(2))
        #expect(machine.tick(inFlight: 0, total: 1, now: self.at(0)) == .none)
        #expect(machine.tick(inFlight: 0, total: 1, now: self.at(2)) == .trim)
        #expect(machine.tick(inFlight: 2, total: 3, now: self.at(3)) == .none)
        #expect(machine.tick(inFlight: 0, total: 3, now: self.at(4)) == .none)
        #expect(machine.tick(inFlight: 0, total: 3, now: self.at(5)) == .none)
        #expect(machine.tick(inFlight: 0, total: 3, now: self.at(6)) == .trim)
    }
}
