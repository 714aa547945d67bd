import Foundation

/// The bearer token that TCP clients of the HTTP front must send:
/// `$XDG_CONFIG_HOME/llmux/token`, created (mode 0600) on first use.
package enum APIToken {
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var description: String

        package init(description: String) {
            self.description = description
        }
    }

    /// `$XDG_CONFIG_HOME/llmux/token`, or `~/.config/llmux/token`.
    package static func path(environment: [String: String]) -> String? {
        guard let config = ConfigLoader(environment: environment).defaultConfigPath() else { return nil }
        return (config as NSString).deletingLastPathComponent + "/token"
    }

    /// Reads the token, creating it first when the file does not exist.
    package static func loadOrCreate(at path: String) throws(Failure) -> Secret {
        if let data = FileManager.default.contents(atPath: path) {
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw Failure(description: "the token file \(path) is empty; delete it to get a new token") }
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                throw Failure(
                    description: "the token file \(path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it")
            }
            return Secret(token)
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "cannot create \(directory): \(error.localizedDescription)")
        }
        var bytes = [UInt8](repeating: 0, count: 24)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = "llmux-" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        // O_EXCL: two processes creating it at once agree on the first one's token.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return try loadOrCreate(at: path) }
            throw Failure(description: "cannot create the token file \(path): \(String(cString: strerror(errno)))")
        }
        let line = Array((token + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == line.count else { throw Failure(description: "cannot write the token file \(path)") }
        return Secret(token)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
