import Foundation

/// Writes a tool's configuration into the user's home: the file merged with what it held,
/// the old file kept beside it as a backup, and the change described before it is made.
package struct ConfigurationWriter {
    package struct Outcome: Sendable {
        package var path: String
        /// Where the previous contents went; nil when there was no file or nothing changed.
        package var backup: String?
        /// The lines removed (`-`) and added (`+`); empty when the file already held this configuration.
        package var change: [String]
    }

    package var home: String
    /// The variables that move a tool's directory (XDG_CONFIG_HOME, CODEX_HOME, ...).
    package var environment: [String: String]
    /// The backup's suffix: `PATH.llmux-backup-STAMP`.
    package var stamp: String

    package init(home: String, environment: [String: String], stamp: String) {
        self.home = home
        self.environment = environment
        self.stamp = stamp
    }

    /// What `write` would do to the file, without touching it.
    package func plan(_ configuration: ToolConfiguration) throws -> (path: String, old: String?, new: String) {
        guard let path = configuration.tool.file(home: self.home, environment: self.environment) else {
            throw ConfigurationMerge.Refusal(description: "\(configuration.tool.rawValue) has no file: eval \"$(llmux setup shell)\"")
        }
        let old = FileManager.default.fileExists(atPath: path) ? try String(contentsOfFile: path, encoding: .utf8) : nil
        return (path, old, try ConfigurationMerge.merged(configuration, into: old, path: path))
    }

    /// Merges and writes. The file is private (0600): most of these files hold the token.
    package func write(_ configuration: ToolConfiguration) throws -> Outcome {
        let (path, old, new) = try self.plan(configuration)
        if old == new { return Outcome(path: path, backup: nil, change: []) }
        let change = Self.change(from: old ?? "", to: new)
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var backup: String?
        if let old {
            let name = path + ".llmux-backup-" + self.stamp
            try Data(old.utf8).write(to: URL(fileURLWithPath: name))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: name)
            backup = name
        }
        // Written beside the file and renamed over it: a crash leaves the old file or the new one.
        let staging = path + ".llmux-new"
        guard FileManager.default.createFile(atPath: staging, contents: Data(new.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationMerge.Refusal(description: "could not write \(staging)")
        }
        guard rename(staging, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staging)
            throw ConfigurationMerge.Refusal(description: "could not write \(path): \(reason)")
        }
        return Outcome(path: path, backup: backup, change: change)
    }

    /// Lines only the old text has, then lines only the new text has: enough to see what a
    /// merge changed in a configuration file.
    package static func change(from old: String, to new: String) -> [String] {
        let oldLines = old.split(separator: "\n").map(String.init)
        let newLines = new.split(separator: "\n").map(String.init)
        let oldSet = Set(oldLines)
        let newSet = Set(newLines)
        return oldLines.filter { !newSet.contains($0) }.map { "- " + $0 } + newLines.filter { !oldSet.contains($0) }.map { "+ " + $0 }
    }
}
