import Foundation
import Testing

@testable import llmux_bench

/// llmux-bench's goals stated as ratios to a baseline run (`--baseline FILE`).
@Suite("Benchmark baseline goals")
struct BaselineGoalTests {
    private static func figure(_ scenario: String, _ name: String, _ value: Double, unit: String = "us") -> Figure {
        Figure(scenario: scenario, name: name, value: value, unit: unit, goal: "", met: nil)
    }

    @Test func aFigureWithinItsFactorOfTheBaselineMeetsItsGoalAndGetsARatioRow() {
        let goal = BaselineGoal(scenario: "a: cost", name: "llmuxd CPU per short request", factor: 0.45)
        let now = [Self.figure("a: cost", "llmuxd CPU per short request", 40), Self.figure("a: cost", "other", 7)]
        let base = [Self.figure("a: cost", "llmuxd CPU per short request", 100)]
        let result = BaselineGoal.apply([goal], to: now, baseline: base)
        #expect(result.map(\.name) == ["llmuxd CPU per short request", "llmuxd CPU per short request / baseline", "other"])
        #expect(result[0].goal == "<= 45.000 (0.45 x baseline 100.000)")
        #expect(result[0].met == true)
        #expect(result[1].value == 0.4)
        #expect(result[1].unit == "x")
        #expect(result[1].met == true)
        // Figures without a ratio goal pass through untouched.
        #expect(result[2].goal == "" && result[2].met == nil && result[2].value == 7)
    }

    @Test func aFigureAboveItsFactorMissesItsGoal() {
        let goal = BaselineGoal(scenario: "b: throughput", name: "llmuxd CPU per 1M deltas", factor: 0.6)
        let result = BaselineGoal.apply(
            [goal], to: [Self.figure("b: throughput", "llmuxd CPU per 1M deltas", 2.0, unit: "s")],
            baseline: [Self.figure("b: throughput", "llmuxd CPU per 1M deltas", 3.0, unit: "s")])
        #expect(result[0].met == false)
        #expect(result[1].met == false)
        #expect(abs(result[1].value - 2.0 / 3.0) < 1e-12)
    }

    @Test func withoutABaselineOrItsFigureTheGoalSaysSoAndIsNotJudged() {
        let goal = BaselineGoal(scenario: "a: ttft x64", name: "added p50", factor: 0.35)
        let now = [Self.figure("a: ttft x64", "added p50", 1, unit: "ms")]
        for baseline in [nil, [Self.figure("a: ttft x1", "added p50", 1, unit: "ms")], [Self.figure("a: ttft x64", "added p50", 0, unit: "ms")]] {
            let result = BaselineGoal.apply([goal], to: now, baseline: baseline)
            #expect(result.count == 1)
            #expect(result[0].met == nil)
            #expect(result[0].goal.contains("--baseline"))
        }
    }

    @Test func theBaselineIsReadFromAnEarlierRunsJSONAndABadFileIsAClearError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmux-baseline-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json").path
        let figures = [Self.figure("a: cost", "llmuxd CPU per short request", 101)]
        try Report.writeJSON(figures, to: good)
        #expect(try BaselineGoal.readBaseline(good).map(\.value) == [101])

        let bad = directory.appendingPathComponent("bad.json").path
        try Data("not json".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(throws: BenchmarkFailure.self) { try BaselineGoal.readBaseline(bad) }
        let error = #expect(throws: BenchmarkFailure.self) { try BaselineGoal.readBaseline(directory.appendingPathComponent("missing.json").path) }
        #expect(error?.description.contains("cannot read the baseline") == true)
    }
}
