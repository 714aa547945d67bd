import ArgumentParser
import LLMuxDaemon

/// `llmux-bench soak`: the load and soak test, on demand.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Churns many connections against a real llmuxd, then checks it is alive, idle and no bigger."
    )

    @Option(help: "Concurrent connections.")
    var connections = 200

    @Option(help: "Seconds of churn.")
    var seconds = 60

    func run() async throws {
        FileDescriptorLimit.raiseToHardLimit()
        let options = SoakRun.Options(connections: self.connections, duration: .seconds(self.seconds))
        print("soak: \(self.connections) connections for \(self.seconds) s against \(options.llmuxd)")
        let report = try await SoakRun(options: options).run { print($0) }
        print("sessions \(report.sessions), requests \(report.requests), terminal frames seen \(report.terminals)")
        print("cancels \(report.cancels), hang-ups \(report.hangups), malformed lines \(report.malformedLines), slow-reader sessions \(report.slowSessions)")
        print("outcomes: " + report.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        print("RSS under load, MB, once a second: " + report.rssSamples.map { String(format: "%.1f", $0) }.joined(separator: " "))
        print(String(format: "RSS idle afterwards: %.1f MB", report.rssIdleMB))
        for violation in report.violations { print("violation: \(violation)") }
        for (check, held) in report.checks { print("\(held ? "ok  " : "FAIL") \(check)") }
        if !report.passed { throw ExitCode(1) }
    }
}
