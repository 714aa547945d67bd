import Foundation

/// One measured figure with its goal.
struct Figure: Codable, Sendable {
    var scenario: String
    var name: String
    var value: Double
    var unit: String
    /// The goal as text, for example "<= 0.2"; empty when there is none.
    var goal: String
    /// Whether the figure meets its goal; nil when there is no goal.
    var met: Bool?
}

/// Latency samples, summarized.
struct Samples {
    var values: [Double] = []

    mutating func add(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.values.append(Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }

    func percentile(_ p: Double) -> Double {
        guard !self.values.isEmpty else { return .nan }
        let sorted = self.values.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))
        return sorted[index]
    }
}

enum Report {
    static func print(_ figures: [Figure]) {
        let header = ["scenario", "figure", "value", "goal", ""]
        var rows = [header]
        for f in figures {
            let value = f.value >= 1000 ? String(format: "%.0f %@", f.value, f.unit) : String(format: "%.3f %@", f.value, f.unit)
            let mark = f.met.map { $0 ? "ok" : "MISSED" } ?? ""
            rows.append([f.scenario, f.name, value, f.goal.isEmpty ? "" : "\(f.goal) \(f.unit)", mark])
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            Swift.print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    static func writeJSON(_ figures: [Figure], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(figures).write(to: URL(fileURLWithPath: path))
    }
}
