import Foundation

/// Unbuffered writes to stdout and stderr: text must appear as it arrives.
/// A closed stdout (`llmux ... | head -1`) is reported, never a crash.
enum Output {
    /// Writes all of `text` to stdout; false when stdout is closed.
    @discardableResult
    static func text(_ text: String) -> Bool {
        writeAll(STDOUT_FILENO, text)
    }

    @discardableResult
    static func line(_ text: String) -> Bool {
        self.text(text + "\n")
    }

    static func error(_ text: String) {
        _ = writeAll(STDERR_FILENO, "llmux: " + text + "\n")
    }

    /// A note for the reader on stderr (where a file goes, what to do next), so stdout stays
    /// the text a script captures.
    static func note(_ text: String) {
        _ = writeAll(STDERR_FILENO, text + "\n")
    }

    /// Reasoning text on stderr, unprefixed, as it arrives (`--show-reasoning`).
    static func reasoning(_ text: String) {
        _ = writeAll(STDERR_FILENO, text)
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Ignore SIGPIPE so that a closed stdout shows up as EPIPE from write(2).
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    private static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            bytes = bytes.dropFirst(written)
        }
        return true
    }
}
