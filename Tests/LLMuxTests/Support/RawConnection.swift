import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking socket to a test server, for what an HTTP client library will not do:
/// send a request head a byte at a time, hang up before the answer, read what comes.
/// Reads wait on a thread of their own, never on the cooperative pool that the
/// in-process daemon runs on.
final class RawConnection: @unchecked Sendable {
    // @unchecked: the descriptor is used by one caller at a time (each test awaits each read).
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private var fd: Int32

    /// `address` is `http://127.0.0.1:PORT` or a Unix socket path.
    init(_ address: String) throws {
        if address.hasPrefix("http://") {
            let hostPort = address.dropFirst("http://".count)
            guard let colon = hostPort.lastIndex(of: ":"), let port = UInt16(hostPort[hostPort.index(after: colon)...]) else {
                throw Failure(description: "bad address \(address)")
            }
            self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = inet_addr(String(hostPort[..<colon]))
            let result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw Failure(description: "connect \(address): \(String(cString: strerror(errno)))") }
        } else {
            self.fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var sun = sockaddr_un()
            sun.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sun.sun_path) { raw in
                for (index, byte) in address.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &sun) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw Failure(description: "connect \(address): \(String(cString: strerror(errno)))") }
        }
    }

    deinit { self.close() }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads until the peer closes or `timeout` passes; `closed` says which.
    func readUntilClosed(timeout: Duration) async -> (text: String, closed: Bool) {
        await Self.offPool { self.blockingReadUntilClosed(timeout: timeout) }
    }

    /// Reads until `marker` has arrived, the peer closes, or `timeout` passes.
    func read(until marker: String, timeout: Duration) async -> String {
        await Self.offPool { self.blockingRead(until: marker, timeout: timeout) }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }

    private func blockingReadUntilClosed(timeout: Duration) -> (text: String, closed: Bool) {
        var collected: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            var poller = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            guard poll(&poller, 1, ms) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            let n = recv(self.fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: collected, as: UTF8.self), true) }
            collected += buffer[..<n]
        }
        return (String(decoding: collected, as: UTF8.self), false)
    }

    private func blockingRead(until marker: String, timeout: Duration) -> String {
        var collected: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !String(decoding: collected, as: UTF8.self).contains(marker) {
            var poller = pollfd(fd: self.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            let n = recv(self.fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            collected += buffer[..<n]
        }
        return String(decoding: collected, as: UTF8.self)
    }

    func close() {
        if self.fd >= 0 {
            Glibc.close(self.fd)
            self.fd = -1
        }
    }
}
