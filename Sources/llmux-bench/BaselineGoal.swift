import Foundation

/// Goals stated against a baseline: the same figure measured by an earlier build (today's main)
/// on the same machine, read from that run's `--json` file. Machines of the same kind differ by
/// 2x or more, so these goals are ratios, never absolute figures.
struct BaselineGoal: Sendable, Equatable {
    var scenario: String
    var name: String
    /// The figure must be at most this multiple of the baseline's.
    var factor: Double

    /// Issue 20's ratio goals: CPU per short socket request, added first delta at 64 concurrent,
    /// relay CPU per million deltas.
    static let all: [BaselineGoal] = [
        BaselineGoal(scenario: "a: cost", name: "llmuxd CPU per short request", factor: 0.45),
        BaselineGoal(scenario: "a: ttft x64", name: "added p50", factor: 0.35),
        BaselineGoal(scenario: "b: throughput", name: "llmuxd CPU per 1M deltas", factor: 0.6),
    ]

    /// `figures` with each ratio goal written beside its figure. With a baseline the goal is
    /// the baseline's value times the factor and `met` says whether the figure is within it, and
    /// a ratio figure (this run / baseline) follows; without one the goal says a baseline is
    /// needed and `met` stays nil. A baseline that lacks the figure is reported the same way.
    static func apply(_ goals: [BaselineGoal] = all, to figures: [Figure], baseline: [Figure]?) -> [Figure] {
        var result: [Figure] = []
        for figure in figures {
            guard let goal = goals.first(where: { $0.scenario == figure.scenario && $0.name == figure.name }) else {
                result.append(figure)
                continue
            }
            var measured = figure
            let factor = String(format: "%.2f", goal.factor)
            guard let base = baseline?.first(where: { $0.scenario == figure.scenario && $0.name == figure.name }),
                base.value.isFinite, base.value > 0
            else {
                measured.goal = "<= \(factor) x baseline (none: --baseline FILE)"
                measured.met = nil
                result.append(measured)
                continue
            }
            let limit = base.value * goal.factor
            measured.goal = String(format: "<= %.3f (%@ x baseline %.3f)", limit, factor, base.value)
            measured.met = figure.value <= limit
            result.append(measured)
            let ratio = figure.value / base.value
            result.append(
                Figure(
                    scenario: figure.scenario, name: "\(figure.name) / baseline", value: ratio, unit: "x", goal: "<= \(factor)",
                    met: ratio <= goal.factor))
        }
        return result
    }

    /// Reads the figures of an earlier run's `--json` file.
    static func readBaseline(_ path: String) throws -> [Figure] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw BenchmarkFailure("cannot read the baseline \(path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode([Figure].self, from: data)
        } catch {
            throw BenchmarkFailure("the baseline \(path) is not an llmux-bench --json file: \(error)")
        }
    }
}
