/// Finds the line of a key in TOML text, so that semantic errors (which the
/// TOML parser does not locate) can still name a line. It understands table
/// headers (`[providers.openai]`) and `key = value` lines, which covers how
/// llmux config files are written; it falls back to the table's header line,
/// then to no line at all.
struct ConfigSourceLocator {
    private let lines: [Substring]

    init(text: String) {
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func line(of keyPath: [String]) -> Int? {
        guard !keyPath.isEmpty else { return nil }
        // Try the full path, then shorter prefixes (the enclosing table).
        for length in stride(from: keyPath.count, through: 1, by: -1) {
            if let line = self.find(Array(keyPath.prefix(length))) { return line }
        }
        return nil
    }

    private func find(_ path: [String]) -> Int? {
        var currentTable: [String] = []
        for (index, raw) in self.lines.enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.hasPrefix("[") {
                let name = line.drop(while: { $0 == "[" }).prefix(while: { $0 != "]" })
                currentTable = name.split(separator: ".").map { Self.unquote($0.trimmingCharacters(in: " \t")) }
                if currentTable == path { return index + 1 }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: " \t")
            let keyParts = key.split(separator: ".").map { Self.unquote($0.trimmingCharacters(in: " \t")) }
            if currentTable + keyParts == path { return index + 1 }
        }
        return nil
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let first = s.first, first == s.last, first == "\"" || first == "'" {
            return String(s.dropFirst().dropLast())
        }
        return s
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
