import LLMuxWire

#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif

/// Where the daemon listens, and the rules for claiming that path:
/// `--socket`, then `LLMUX_SOCKET`, then `$XDG_RUNTIME_DIR/llmux/llmux.sock`.
/// Never a silent fallback to /tmp. The client (`llmux`) follows the same rule.
package enum SocketLocation {
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package enum Kind: Sendable { case noRuntimeDirectory, unsafeDirectory, anotherDaemonRunning, notASocket, system }
        package var kind: Kind
        package var message: String
        package var description: String { self.message }
    }

    package static func resolve(explicit: String?, environment: [String: String]) throws(Failure) -> String {
        guard let path = SocketPaths.resolve(explicit: explicit, environment: environment) else {
            throw Failure(kind: .noRuntimeDirectory, message: SocketPaths.missingRuntimeDirectoryMessage)
        }
        return path
    }

    /// Creates the socket's directory (mode 0700) if needed. The directory
    /// must belong to this user and be closed to others.
    package static func prepareDirectory(for socketPath: String) throws(Failure) {
        let directory = Self.directory(of: socketPath)
        var info = stat()
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else {
                throw Failure(kind: .system, message: "cannot inspect \(directory): \(String(cString: strerror(errno)))")
            }
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw Failure(kind: .system, message: "cannot create \(directory): \(String(cString: strerror(errno)))")
            }
            guard stat(directory, &info) == 0 else {
                throw Failure(kind: .system, message: "cannot inspect \(directory): \(String(cString: strerror(errno)))")
            }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw Failure(kind: .unsafeDirectory, message: "\(directory) is not a directory")
        }
        guard info.st_uid == getuid() else {
            throw Failure(kind: .unsafeDirectory, message: "\(directory) belongs to another user (uid \(info.st_uid)); refusing to listen there")
        }
        if info.st_mode & 0o077 != 0 {
            throw Failure(
                kind: .unsafeDirectory,
                message: "\(directory) is open to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 700 \(directory)"
            )
        }
    }

    /// Makes `socketPath` free to bind: a stale socket (no daemon answers) is
    /// removed; a live daemon's socket is never touched.
    package static func claim(_ socketPath: String) throws(Failure) {
        var info = stat()
        guard lstat(socketPath, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw Failure(kind: .notASocket, message: "\(socketPath) exists and is not a socket; remove it or choose another --socket")
        }
        if Self.isAnswering(socketPath) {
            throw Failure(kind: .anotherDaemonRunning, message: "another llmuxd is already running on \(socketPath)")
        }
        if unlink(socketPath) != 0 && errno != ENOENT {
            throw Failure(kind: .system, message: "cannot remove the stale socket \(socketPath): \(String(cString: strerror(errno)))")
        }
    }

    /// Whether something accepts connections on the socket.
    package static func isAnswering(_ socketPath: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return Self.withAddress(socketPath) { connect(fd, $0, $1) } == 0
    }

    /// Calls `body` with the `sockaddr_un` of `path`; `nil` when the path is too long for one.
    package static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}

/// An exclusive advisory lock held for the daemon's lifetime, next to its
/// socket. It settles the race between two daemons starting at once, which
/// the stale-socket check alone cannot.
package final class DaemonLock: Sendable {
    private let fd: Int32
    package let path: String

    package init(socketPath: String) throws(SocketLocation.Failure) {
        self.path = socketPath + ".lock"
        let fd = open(self.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SocketLocation.Failure(kind: .system, message: "cannot open \(self.path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw SocketLocation.Failure(kind: .anotherDaemonRunning, message: "another llmuxd is already running (it holds \(self.path))")
        }
        self.fd = fd
    }

    deinit {
        close(self.fd)
    }
}
