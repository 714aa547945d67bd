import Foundation
@testable import LLMuxDaemon
import LLMuxWire
import ServiceLifecycleTestKit
import Testing

/// The daemon's one service group, shut down gracefully from the outside (as
/// a parent service group or the test kit does), in process.
@Suite("Graceful shutdown in process", .timeLimit(.minutes(5)))
struct InProcessShutdownTests {
    /// A request in flight finishes, a new one is refused with shutting_down, and the
    /// daemon stops as soon as the last request ended: the grace period here is an
    /// hour, so a drain that waited it out would trip the time limit. (The limit is
    /// generous because it counts the wait for `ExclusiveTestLock` too.)
    @Test func aGracefulShutdownDrainsAndStopsOnceTheLastRequestEnded() async throws {
        try await testGracefulShutdown { trigger in
            try await TestDaemon.with(configure: { config, _ in config.shutdownGraceMs = 3_600_000 }) { daemon in
                var log = FrameLog()
                try await daemon.connect { connection in
                    try await connection.send(line: chatLine("long", model: "mock/mock:chunks=20,size=4,interval_ms=20"))
                    var triggered = false
                    for try await received in connection.frames {
                        log.append(received.frame)
                        if case .delta = received.frame, !triggered {
                            triggered = true
                            trigger.triggerGracefulShutdown()
                            // The trigger reaches the fronts through the service group's tasks: send the
                            // late request once they began shutting down.
                            while !daemon.logText.contains("shutting down") { try await Task.sleep(for: .milliseconds(5)) }
                            try await connection.send(line: chatLine("late", model: "mock/default"))
                        }
                        if log.terminal("long") != nil && log.terminal("late") != nil { break }
                    }
                }
                #expect(log.isWellFormed("long"))
                guard case .done(let done)? = log.terminal("long") else {
                    Issue.record("expected done: \(log.all)")
                    return
                }
                #expect(done.finishReason == "stop")
                guard case .error(_, let refused)? = log.terminal("late") else {
                    Issue.record("the late request got \(log.frames("late"))")
                    return
                }
                #expect(refused.code == .shuttingDown)
                // The socket server removes its file when it stopped serving.
                while FileManager.default.fileExists(atPath: daemon.socketPath) { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
    }

    @Test func theDrainWaitEndsWhenTheLastRequestEnds() async {
        let stats = DaemonStats()
        stats.requestStarted()
        stats.requestStarted()
        let drained = Task { await stats.drained(until: .now + .seconds(3_600)) }
        stats.requestEnded()
        stats.requestEnded()
        await drained.value
        #expect(stats.inFlight == 0)
    }

    @Test func theDrainWaitEndsWhenCancelled() async {
        let stats = DaemonStats()
        stats.requestStarted()
        let drained = Task { await stats.drained(until: .now + .seconds(3_600)) }
        drained.cancel()
        await drained.value
        #expect(stats.inFlight == 1)
    }
}
