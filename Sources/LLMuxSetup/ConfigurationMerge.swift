import LLMuxWire
import TOMLKit

/// The file a tool's configuration becomes, given what the file holds now: llmux's keys set
/// in it and everything else kept, where the format allows it; otherwise a clear refusal.
package enum ConfigurationMerge {
    package struct Refusal: Error, CustomStringConvertible {
        package var description: String
    }

    /// The new contents of `path` (shown in messages), or `configuration.text` when `existing` is nil.
    package static func merged(_ configuration: ToolConfiguration, into existing: String?, path: String) throws(Refusal) -> String {
        guard let existing, !existing.allSatisfy(\.isWhitespace) else {
            // TOML always goes through the merge, from an empty document when there is none, so
            // that writing the same configuration twice gives the same text.
            return configuration.tool.format == .toml ? try Self.toml(configuration, "", path) : configuration.text
        }
        switch configuration.tool.format {
        case .json:
            return try Self.json(configuration, existing, path)
        case .toml:
            return try Self.toml(configuration, existing, path)
        case .flatYAML:
            return Self.flatYAML(configuration, existing)
        case .yaml:
            return try Self.yaml(configuration, existing, path)
        case .elisp, .lua:
            guard existing.split(separator: "\n", maxSplits: 2).prefix(2).contains(where: { $0.contains("llmux setup") }) else {
                throw Refusal(description: "\(path) exists and llmux did not write it; move it away or add the lines below to it by hand")
            }
            return configuration.text
        case .shell:
            throw Refusal(description: "a shell's configuration is environment variables: eval \"$(llmux setup shell)\"")
        }
    }

    private static func json(_ configuration: ToolConfiguration, _ existing: String, _ path: String) throws(Refusal) -> String {
        guard let part = configuration.json else { return configuration.text }
        let current: JSONValue
        do {
            current = try JSONValue.parse(existing)
        } catch {
            throw Refusal(description: "\(path) is not plain JSON (\(error); comments are not read); add the keys below to it by hand")
        }
        guard case .object = current else { throw Refusal(description: "\(path) holds JSON that is not an object; add the keys below to it by hand") }
        return JSONText.pretty(Self.merge(part, into: current))
    }

    /// Objects merge key by key, recursively; any other value of llmux's replaces the current one.
    static func merge(_ part: JSONValue, into current: JSONValue) -> JSONValue {
        guard case .object(let ours) = part, case .object(var theirs) = current else { return part }
        for (key, value) in ours {
            theirs[key] = theirs[key].map { Self.merge(value, into: $0) } ?? value
        }
        return .object(theirs)
    }

    private static func toml(_ configuration: ToolConfiguration, _ existing: String, _ path: String) throws(Refusal) -> String {
        let current: TOMLTable
        let ours: TOMLTable
        do {
            current = try TOMLTable(string: existing)
        } catch {
            throw Refusal(description: "\(path) is not valid TOML (\(error)); fix it or add the lines below by hand")
        }
        do {
            ours = try TOMLTable(string: configuration.text)
        } catch {
            throw Refusal(description: "llmux's own TOML for \(configuration.tool.rawValue) did not parse: \(error)")
        }
        for setting in configuration.settings {
            current[setting.key] = ours[setting.key]
        }
        for table in configuration.tables {
            // `name` or `parent.name` (the depth llmux's tables have): the table is replaced whole,
            // its parent's other entries are kept.
            let names = table.name.split(separator: ".").map(String.init)
            if names.count == 1 {
                current[names[0]] = ours[names[0]]
            } else {
                let parent = current[names[0]]?.table ?? TOMLTable()
                parent[names[1]] = ours[names[0]]?.table?[names[1]]
                current[names[0]] = parent
            }
        }
        // Basic (double-quoted) strings only, as llmux's own text has them.
        return current.convert(to: .toml, options: [.allowUnicodeStrings]) + "\n"
    }

    private static func flatYAML(_ configuration: ToolConfiguration, _ existing: String) -> String {
        var pending = configuration.settings
        var lines: [String] = []
        for line in existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let index = pending.firstIndex(where: { line.hasPrefix($0.key + ":") }) {
                lines.append("\(pending[index].key): \(pending[index].value)")
                pending.remove(at: index)
            } else if let setting = configuration.settings.first(where: { line.hasPrefix($0.key + ":") }) {
                // A second line for a key llmux already set: commented out, so the file has one value.
                lines.append("# " + line + "   # replaced by llmux setup (\(setting.key))")
            } else {
                lines.append(line)
            }
        }
        while lines.last == "" { lines.removeLast() }
        lines += pending.map { "\($0.key): \($0.value)" }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func yaml(_ configuration: ToolConfiguration, _ existing: String, _ path: String) throws(Refusal) -> String {
        if existing == configuration.text { return existing }
        // A top-level list (llm's extra models): llmux's entry is appended unless one of that id is there.
        let meaningful = existing.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) && !$0.hasPrefix("#") }
        if configuration.text.hasPrefix("- "), meaningful.allSatisfy({ $0.hasPrefix("- ") || $0.hasPrefix(" ") }) {
            let firstLine = configuration.text.prefix(while: { $0 != "\n" })
            if meaningful.contains(where: { $0 == firstLine }) {
                throw Refusal(description: "\(path) already has an entry '\(firstLine.dropFirst(2))'; edit it by hand to match the lines below")
            }
            return existing + (existing.hasSuffix("\n") ? "" : "\n") + configuration.text
        }
        throw Refusal(description: "\(path) exists; llmux does not edit nested YAML: move it away, or add the lines below to it by hand")
    }
}
