import Foundation
import LLMuxClient
import LLMuxDaemon
import LLMuxMockUpstream

#if canImport(Glibc)
import Glibc
#endif

/// A real `llmuxd` process (the binary built next to `llmux-bench`) on a
/// temporary socket, its provider `mock` pointing at the benchmark's mock
/// upstream, so that its memory and start-up are its own.
struct DaemonProcess: Sendable {
    let pid: pid_t
    let directory: String
    let socket: String
    /// `http://127.0.0.1:PORT/v1`, the HTTP front.
    let httpBaseURL: String
    /// From spawning the process to its `READY=1` (sd_notify).
    let startToReady: Duration

    /// The binaries built beside this benchmark.
    static func sibling(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Starts llmuxd with a provider per mock: `mock` for the first, `mock1`, `mock2`, ... for the others
    /// (async-http-client pools HTTP/1.1 connections per host and port, 1024 at most; more mocks, more streams).
    static func start(mocks: [MockUpstream], extraConfig: String = "", llmuxd: String = sibling("llmuxd")) async throws -> DaemonProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmux-bench-d-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let port = try Self.freeLoopbackPort()
        let config = """
            default_model = "mock/default"
            http_listen = "127.0.0.1:\(port)"
            log_level = "error"
            max_connections = 4096
            [models.smart-select]
            provider = "mock"
            model = "default"

            """
            + mocks.enumerated().map { index, mock in
                "[providers.mock\(index == 0 ? "" : String(index))]\nbase_url = \"\(mock.baseURL)\"\n"
            }.joined() + extraConfig
        try config.write(toFile: directory + "/config.toml", atomically: true, encoding: .utf8)
        let notifyPath = directory + "/notify"
        let notify = try NotifySocket(path: notifyPath)
        defer { notify.close() }
        let socket = directory + "/llmux.sock"
        let started = ContinuousClock.now
        let pid = try ProcessSpawner.spawn(
            llmuxd,
            arguments: ["--config", directory + "/config.toml", "--socket", socket],
            environment: [
                "PATH": "/usr/bin:/bin",
                "HOME": directory,
                "XDG_RUNTIME_DIR": directory,
                "XDG_CONFIG_HOME": directory + "/config",
                "XDG_STATE_HOME": directory + "/state",
                "NOTIFY_SOCKET": notifyPath,
            ],
            stdout: directory + "/llmuxd.log"
        )
        guard await notify.receive(until: "READY=1", timeout: .seconds(30)) != nil else {
            kill(pid, SIGKILL)
            throw BenchmarkFailure("llmuxd did not report READY=1 within 30 s; see \(directory)/llmuxd.log")
        }
        return DaemonProcess(
            pid: pid,
            directory: directory,
            socket: socket,
            httpBaseURL: "http://127.0.0.1:\(port)/v1",
            startToReady: .now - started
        )
    }

    /// The bearer token llmuxd created for TCP clients of its HTTP front.
    var token: String {
        ((try? String(contentsOfFile: self.directory + "/config/llmux/token", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Resident set size in bytes, from /proc.
    var residentBytes: Int { Self.residentBytes(of: self.pid) }

    /// The resident set size of process `pid` in bytes (`VmRSS` in /proc), 0 when unreadable.
    static func residentBytes(of pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// CPU time (user + system) the process has used so far, from /proc.
    var cpuSeconds: Double {
        // /proc/<pid>/stat: the command name is in parentheses and may hold spaces; utime and stime
        // are the 12th and 13th fields after it, in clock ticks.
        guard let stat = try? String(contentsOfFile: "/proc/\(self.pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Whether the process is still running.
    var isAlive: Bool { kill(self.pid, 0) == 0 }

    /// SIGTERM, then waits for the exit (SIGKILL after 10 s).
    func stop() async {
        kill(self.pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        var status: Int32 = 0
        while true {
            let result = waitpid(self.pid, &status, WNOHANG)
            // Reaped, or not a child of ours any more; an interrupted wait is tried again.
            if result == self.pid || (result < 0 && errno != EINTR) { break }
            if ContinuousClock.now > deadline { kill(self.pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    static func freeLoopbackPort() throws -> Int {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchmarkFailure("could not find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A benchmark that could not run.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The receiving end of `NOTIFY_SOCKET`: a Unix datagram socket (also used by the systemd tests).
struct NotifySocket: Sendable {
    let fd: Int32

    init(path: String) throws {
        self.fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let fd = self.fd
        guard SocketLocation.withAddress(path, { bind(fd, $0, $1) }) == 0 else {
            Glibc.close(fd)
            throw BenchmarkFailure("cannot bind the notify socket \(path)")
        }
    }

    /// Reads datagrams until one contains `marker` and returns it; nil after `timeout`.
    func receive(until marker: String, timeout: Duration = .seconds(10)) async -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = recv(self.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 {
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                if message.contains(marker) { return message }
                continue
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    func close() { _ = Glibc.close(self.fd) }
}
