import Foundation
import Testing

extension Tag {
    /// Starts llmuxd, llmux, an editor or Python as a child process.
    @Tag static var processes: Self
    /// Waits on the real clock (cooldowns, hedges, phase timeouts, soak rounds) or asserts a latency
    /// bound, so it takes `ExclusiveTestLock` to run alone.
    @Tag static var realTime: Self
}

/// Which tests a run includes: `LLMUX_TESTS=fast swift test` is the fast tier, every test
/// that neither starts a process nor waits on the real clock; CI runs all of them.
enum TestTier {
    static let isFast = ProcessInfo.processInfo.environment["LLMUX_TESTS"] == "fast"
}

extension Trait where Self == ConditionTrait {
    /// Left out of the fast tier (`LLMUX_TESTS=fast`).
    static var fullTierOnly: Self {
        .disabled(if: TestTier.isFast, "the fast tier (LLMUX_TESTS=fast) leaves out tests that start processes or wait on the real clock")
    }
}
