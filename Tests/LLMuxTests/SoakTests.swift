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
            // Under a sanitizer the RSS says more about its allocator than about llmuxd (AddressSanitizer
            // keeps freed memory in quarantine; under ThreadSanitizer, with the full suite around it,
            // one run ended 12 % above warm, 125.3 vs 111.7 MB, and 18.5 s alone it held): the memory
            // figures are llmux-bench's (README, "Load and soak test"); here they count only unsanitized.
            for (check, held) in report.checks where !((SanitizedBuild.address || SanitizedBuild.thread) && check.hasPrefix("RSS")) {
                #expect(held, "\(check): \(summary)")
            }
            // The run exercised what it claims to.
            #expect(report.cancels > 0 && report.hangups > 0 && report.malformedLines > 0 && report.slowSessions > 0, "\(summary)")
            #expect(report.outcomes["done:cancelled", default: 0] > 0, "\(summary)")
            #expect(report.outcomes.keys.contains { $0.hasPrefix("error:upstream") }, "\(summary)")
        }
    }
}
