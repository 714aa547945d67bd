import Foundation
import Testing
@testable import llmux_bench

/// The short version of `llmux-bench soak` (README, "Load and soak test"): a
/// real llmuxd process under churning connections with random cancels,
/// hang-ups, malformed lines and slow readers.
@Suite("Load and soak", .tags(.processes), .fullTierOnly)
struct SoakTests {
    @Test(.timeLimit(.minutes(3))) func shortSoakLeavesTheDaemonAliveIdleAndNoBigger() async throws {
        try await ExclusiveTestLock.shared.withLock {
            let options = SoakRun.Options(connections: 40, duration: .seconds(15), warmUpFraction: 0.4, llmuxd: Executables.llmuxd)
            let report = try await SoakRun(options: options).run()
            let summary =
                "sessions \(report.sessions), requests \(report.requests), outcomes \(report.outcomes), "
                + "RSS \(report.rssSamples), violations \(report.violations)"
            // Under AddressSanitizer freed memory stays in quarantine, so RSS only grows.
            for (check, held) in report.checks where !(SanitizedBuild.address && check.hasPrefix("RSS")) {
                #expect(held, "\(check): \(summary)")
            }
            // The run exercised what it claims to.
            #expect(report.cancels > 0 && report.hangups > 0 && report.malformedLines > 0 && report.slowSessions > 0, "\(summary)")
            #expect(report.outcomes["done:cancelled", default: 0] > 0, "\(summary)")
            #expect(report.outcomes.keys.contains { $0.hasPrefix("error:upstream") }, "\(summary)")
        }
    }
}
