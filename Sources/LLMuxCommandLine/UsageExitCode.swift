public import ArgumentParser
import Foundation

/// The exit status both executables use for usage errors. ArgumentParser's
/// own is 64 (EX_USAGE); llmux documents 2, as most Unix tools use.
public let usageExitStatus: Int32 = 2

extension ParsableCommand {
    /// Parses `arguments` and runs the command, like ArgumentParser's `main`,
    /// except that a usage error prints `prefix: message` to stderr and exits
    /// with `usageExitStatus`.
    public static func runExitingWithUsageStatus(_ arguments: [String], prefix: String) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data("\(prefix): \(fullMessage(for: error))\n".utf8))
                Foundation.exit(usageExitStatus)
            }
            exit(withError: error)
        }
    }
}
