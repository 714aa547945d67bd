import Foundation
import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxWire
import Testing
@testable import llmux_bench

/// The `llmuxd` executable: socket rules, config checking, autostart by `llmux`, a raw socat session.
@Suite("llmuxd process", .tags(.processes), .fullTierOnly)
struct DaemonProcessTests {
    /// A private home for a daemon of our own: runtime dir (0700), no config file, no keys (demo provider).
    final class DaemonHome: Sendable {
        let directory: String
        let environment: [String: String]
        /// Where llmuxd puts its socket under this home by default.
        let socket: String

        init() throws {
            self.directory = try TemporaryDirectory.make()
            mkdir(self.directory + "/run", 0o700)
            self.environment = DaemonProcessTests.environment(self.directory)
            self.socket = self.directory + "/run/llmux/llmux.sock"
        }

        deinit { TemporaryDirectory.remove(self.directory) }
    }

    static func environment(_ directory: String) -> [String: String] {
        cleanEnvironment([
            "XDG_RUNTIME_DIR": directory + "/run",
            "XDG_CONFIG_HOME": directory + "/config",
            "XDG_STATE_HOME": directory + "/state",
            "HOME": directory,
        ])
    }

    /// systemd starts user services with 1024 open files; llmuxd lifts its soft limit to the hard one.
    @Test func daemonRaisesItsOpenFileLimit() async throws {
        let prlimit = try #require(systemTool("prlimit"), "prlimit is required (Debian's util-linux)")
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonHome()
            let daemon = try ChildProcess(prlimit, ["--nofile=256:4096", Executables.llmuxd], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket), "\(daemon.stderr)")
            let limits = try String(contentsOfFile: "/proc/\(daemon.pid)/limits", encoding: .utf8)
            let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
            #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2) == ["4096", "4096"], "\(line)")
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait() == 0)
        }
    }

    @Test func socketIsPrivateAndASecondDaemonIsRefused() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonHome()
            let (directory, env, socket) = (home.directory, home.environment, home.socket)
            let first = try ChildProcess(Executables.llmuxd, [], environment: env)
            #expect(await waitUntilAnswering(socket))

            var info = stat()
            #expect(stat(socket, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(stat(directory + "/run/llmux", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)

            let second = try await ChildProcess.run(Executables.llmuxd, [], environment: env)
            #expect(second.status == 73)
            #expect(second.stderr.contains("another llmuxd is already running"))
            #expect(SocketLocation.isAnswering(socket), "the second daemon must not take the socket")

            kill(first.pid, SIGTERM)
            let status = await first.wait(timeout: .seconds(10))
            #expect(status == 0, "llmuxd exited with \(status): \(first.stderr)")
            #expect(!FileManager.default.fileExists(atPath: socket), "a clean shutdown removes its socket")
        }
    }

    @Test func staleSocketIsReplaced() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let directory = try TemporaryDirectory.make()
            defer { TemporaryDirectory.remove(directory) }
            let socket = directory + "/stale.sock"
            // A socket file nobody listens on, as a crashed daemon leaves behind.
            let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let bound = SocketLocation.withAddress(socket) { bind(fd, $0, $1) }
            close(fd)
            #expect(bound == 0)
            #expect(FileManager.default.fileExists(atPath: socket))
            #expect(!SocketLocation.isAnswering(socket))

            let daemon = try ChildProcess(Executables.llmuxd, ["--socket", socket], environment: Self.environment(directory))
            #expect(await waitUntilAnswering(socket))
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
        }
    }

    @Test func refusesADirectoryOthersCanEnter() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let directory = try TemporaryDirectory.make()
            defer { TemporaryDirectory.remove(directory) }
            mkdir(directory + "/run", 0o700)
            mkdir(directory + "/run/llmux", 0o755)
            chmod(directory + "/run/llmux", 0o755)
            let result = try await ChildProcess.run(Executables.llmuxd, [], environment: Self.environment(directory))
            #expect(result.status == 73)
            #expect(result.stderr.contains("open to other users"))
        }
    }

    @Test func noRuntimeDirectoryIsAClearConfigError() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let result = try await ChildProcess.run(Executables.llmuxd, [], environment: cleanEnvironment())
            #expect(result.status == 78)
            #expect(result.stderr.contains("XDG_RUNTIME_DIR is not set"))
            #expect(result.stderr.contains("does not fall back to /tmp"))
        }
    }

    @Test func checkConfigReportsFileLineAndKey() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let directory = try TemporaryDirectory.make()
            defer { TemporaryDirectory.remove(directory) }
            let bad = directory + "/bad.toml"
            try "[providers.x]\nbase_url = \"https://example.invalid/v1\"\napi_key_enV = \"X\"\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let failed = try await ChildProcess.run(Executables.llmuxd, ["--check-config", "--config", bad], environment: cleanEnvironment())
            #expect(failed.status == 78)
            #expect(failed.stderr.contains("\(bad):3: providers.x.api_key_enV: unknown key"), "\(failed.stderr)")

            let good = directory + "/good.toml"
            try "default_model = \"x/m\"\n[providers.x]\nbase_url = \"https://example.invalid/v1\"\napi_key_env = \"X\"\n".write(
                toFile: good, atomically: true, encoding: .utf8)
            let passed = try await ChildProcess.run(Executables.llmuxd, ["--check-config"], environment: cleanEnvironment(["LLMUX_CONFIG": good]))
            #expect(passed.status == 0)
            #expect(passed.stdout.contains("config OK"))
            #expect(passed.stdout.contains("key from $X"))

            let usage = try await ChildProcess.run(Executables.llmuxd, ["--nonsense"], environment: cleanEnvironment())
            #expect(usage.status == 2)
        }
    }

    /// `--check-config` says whether traces are on and where they go, and a tracing variable
    /// llmuxd cannot use is a config error (78) naming it, before anything starts.
    @Test func checkConfigReportsTracesAndRefusesABadTracingVariable() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let directory = try TemporaryDirectory.make()
            defer { TemporaryDirectory.remove(directory) }
            let path = directory + "/c.toml"
            try "[providers.x]\nbase_url = \"https://example.invalid/v1\"\n[telemetry]\nendpoint = \"http://u:s3cret@127.0.0.1:4318\"\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            let off = try await ChildProcess.run(Executables.llmuxd, ["--check-config", "--config", path], environment: cleanEnvironment())
            #expect(off.status == 0)
            #expect(off.stdout.contains("traces: off"), "\(off.stdout)")
            let on = try await ChildProcess.run(
                Executables.llmuxd, ["--check-config", "--config", path], environment: cleanEnvironment(["OTEL_TRACES_EXPORTER": "otlp"]))
            #expect(on.status == 0)
            #expect(on.stdout.contains("traces: http://***@127.0.0.1:4318/v1/traces (http/protobuf)"), "\(on.stdout)")
            #expect(!on.stdout.contains("s3cret"))
            let grpc = try await ChildProcess.run(
                Executables.llmuxd, ["--check-config", "--config", path],
                environment: cleanEnvironment(["OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]))
            #expect(grpc.status == 78)
            #expect(grpc.stderr.contains("telemetry: OTEL_EXPORTER_OTLP_PROTOCOL=grpc"), "\(grpc.stderr)")
        }
    }

    /// The TCP ports process `pid` listens on, from its socket descriptors and /proc/net/tcp{,6}.
    static func listeningTCPPorts(of pid: pid_t) -> [Int] {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(
            descriptors.compactMap { fd -> String? in
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    target.hasPrefix("socket:[")
                else { return nil }
                return String(target.dropFirst(8).dropLast())
            }
        )
        var ports: [Int] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: /proc files report size 0, and a read by size stops after the first page.
            let bytes = (FileHandle(forReadingAtPath: table).flatMap { try? $0.readToEnd() }) ?? Data()
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst()
            for line in lines {
                let fields = line.split(separator: " ")
                // local_address st ... inode: fields 1, 3 and 9; 0A is LISTEN.
                guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
                if let port = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) { ports.append(port) }
            }
        }
        return ports
    }

    @Test func theDemoIsServedInProcessWithoutATCPPort() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonHome()
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket), "\(daemon.stderr)")
            let demo = try await ChildProcess.run(Executables.llmux, ["--socket", home.socket, "--no-autostart", "hi"], environment: cleanEnvironment())
            #expect(demo.status == 0, "\(demo.stderr)")
            #expect(demo.stdout.contains("[llmux demo]"))
            let scripted = try await ChildProcess.run(
                Executables.llmux,
                ["--socket", home.socket, "--no-autostart", "-m", "demo/mock:chunks=3,size=4", "hi"],
                environment: cleanEnvironment()
            )
            #expect(scripted.stdout == "000000010002", "\(scripted.stderr)")
            #expect(Self.listeningTCPPorts(of: daemon.pid).isEmpty, "llmuxd listens on TCP ports \(Self.listeningTCPPorts(of: daemon.pid))")
            // The check itself sees a listener: a mock upstream in this process.
            let mock = try await MockUpstream.start()
            let port = mock.port
            #expect(Self.listeningTCPPorts(of: getpid()).contains(port))
            await mock.shutdown()
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
        }
    }

    @Test func llmuxStartsOneDaemonForConcurrentClients() async throws {
        try await ExclusiveTestLock.shared.withLock {
            let home = try DaemonHome()
            let (directory, env, socket) = (home.directory, home.environment, home.socket)
            let clients = try (0..<3).map { _ in
                try ChildProcess(Executables.llmux, ["-m", "demo/mock:chunks=3,size=4", "go"], environment: env)
            }
            var statuses: [Int32] = []
            for client in clients { statuses.append(await client.wait()) }
            #expect(statuses == [0, 0, 0], "\(clients.map(\.stderr))")
            #expect(clients.allSatisfy { $0.stdout == "000000010002" })
            let daemons = Self.processes(named: "llmuxd", withArgument: socket)
            #expect(daemons.count == 1, "started \(daemons.count) daemons")
            // The autostarted daemon serves the demo and logs where the README says.
            let demo = try await ChildProcess.run(Executables.llmux, ["--no-autostart", "hi"], environment: env)
            #expect(demo.status == 0)
            #expect(demo.stdout.contains("[llmux demo]"))
            #expect(FileManager.default.fileExists(atPath: directory + "/state/llmux/llmuxd.log"))
            for pid in daemons { kill(pid, SIGTERM) }
            for _ in 0..<250 where SocketLocation.isAnswering(socket) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!SocketLocation.isAnswering(socket))
        }
    }

    @Test func rawSocatSessionMatchesTheProtocol() async throws {
        let socat = systemTool("socat")
        let path = try #require(socat, "socat is required (.ci/run installs it)")
        try await TestDaemon.with { daemon in
            daemon.mock.setScript(MockScript.counting(30, size: 4, intervalMs: 10), forModel: "slow")
            let session =
                [
                    #"{"type":"hello","protocol":[1],"client":"socat"}"#,
                    chatLine("a"),
                    chatLine("b", model: "mock/slow"),
                    "garbage that is not json",
                    #"{"type":"cancel","id":"b"}"#,
                    #"{"type":"ping","id":"p1"}"#,
                ].joined(separator: "\n") + "\n"
            let result = try await ChildProcess.run(
                path, ["-t", "5", "-", "UNIX-CONNECT:\(daemon.socketPath)"], environment: cleanEnvironment(), stdin: session)
            #expect(result.status == 0, "\(result.stderr)")
            var log = FrameLog()
            for line in result.stdout.split(separator: "\n") {
                log.append(try ServerFrame.decode(line: Array(line.utf8)))
            }
            guard case .hello = log.all.first else {
                Issue.record("hello must come first")
                return
            }
            #expect(log.isWellFormed("a") && log.isWellFormed("b"))
            #expect(log.text("a") == "echo: hello a")
            guard case .done(let cancelled)? = log.terminal("b") else {
                Issue.record("b must end with done")
                return
            }
            #expect(cancelled.finishReason == "cancelled")
            #expect(log.frames("b").count < 32, "b was cancelled before its 30 deltas")
            #expect(log.frames("p1") == [.pong(id: "p1")])
            #expect(log.withoutID.contains { if case .error(nil, let e) = $0 { return e.code == .parseError } else { return false } })
        }
    }

    /// Pids of running processes whose executable name and arguments match.
    static func processes(named name: String, withArgument argument: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let parts = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let executable = parts.first, executable.hasSuffix("/" + name), parts.contains(argument) else { return nil }
            // Skip zombies.
            let status = (try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)) ?? ""
            return status.contains("State:\tZ") ? nil : pid
        }
    }
}

@Suite("Same-user only", .tags(.processes), .fullTierOnly)
struct PeerCredentialTests {
    @Test(.enabled(if: getuid() == 0, "needs root to run a client as another user"))
    func anotherUserIsRefusedWithPermissionDenied() async throws {
        let setpriv = try #require(systemTool("setpriv"))
        try await TestDaemon.with { daemon in
            // Open the socket up by mistake: the peer-credential check must still refuse.
            chmod(daemon.directory, 0o777)
            chmod(daemon.socketPath, 0o666)
            let other = try await ChildProcess.run(
                setpriv,
                ["--reuid", "65534", "--regid", "65534", "--clear-groups", Executables.llmux, "--socket", daemon.socketPath, "--no-autostart", "hi"],
                environment: cleanEnvironment()
            )
            #expect(other.status == 77, "\(other.stderr)")
            #expect(other.stderr.contains("permission_denied"))
            #expect(daemon.mock.requests.isEmpty)
            // The owner is still served.
            let owner = try await ChildProcess.run(Executables.llmux, ["--socket", daemon.socketPath, "--no-autostart", "hi"], environment: cleanEnvironment())
            #expect(owner.status == 0)
        }
    }
}

@Suite("Process hardening", .tags(.processes), .fullTierOnly)
struct ProcessHardeningTests {
    /// A child (llmuxd started by `llmux`, say) gets only its standard streams, not the
    /// descriptors its parent holds without close-on-exec.
    @Test func childrenInheritOnlyTheirStandardStreams() async throws {
        let leaked = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        #expect(leaked > 2)
        defer { close(leaked) }
        let child = try ChildProcess("/bin/sleep", ["5"], environment: [:])
        defer { kill(child.pid, SIGKILL) }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.pid)/fd").compactMap(Int32.init).sorted()
        #expect(descriptors == [0, 1, 2], "the child holds \(descriptors); the parent's \(leaked) must not be among them")
        kill(child.pid, SIGKILL)
        _ = await child.wait()
    }

    /// A non-dumpable process's /proc entries belong to root instead of its own uid,
    /// so run llmuxd as another user (nobody) and look at who owns them.
    @Test(.enabled(if: getuid() == 0, "needs root to start llmuxd as another user"))
    func llmuxdIsNotDumpable() async throws {
        let setpriv = try #require(systemTool("setpriv"))
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            chmod(home.directory, 0o755)
            chown(home.directory + "/run", 65534, 65534)
            let daemon = try ChildProcess(
                setpriv,
                ["--reuid", "65534", "--regid", "65534", "--clear-groups", Executables.llmuxd],
                environment: home.environment.merging(["HOME": "/nonexistent"]) { _, new in new }
            )
            #expect(await waitUntilAnswering(home.socket), "llmuxd did not start as nobody: \(daemon.stderr)")
            var info = stat()
            #expect(stat("/proc/\(daemon.pid)/status", &info) == 0)
            let owner = info.st_uid
            kill(daemon.pid, SIGTERM)
            _ = await daemon.wait(timeout: .seconds(10))
            #expect(owner == 0, "/proc entries of a dumpable process belong to its uid (65534)")
        }
    }
}

@Suite("Bounded memory", .tags(.processes), .fullTierOnly)
struct BoundedMemoryTests {
    static func residentKiB(_ pid: Int32) -> Int { DaemonProcess.residentBytes(of: pid) / 1024 }

    /// llmuxd as its own process, a client that never reads, 20 streams of 25 MB each: the
    /// daemon's memory stays bounded (its 64 MiB per-connection bound of pending frame content,
    /// plus allocator overhead), far below the 500 MB the upstream produces.
    @Test(.disabled(if: SanitizedBuild.address, "AddressSanitizer's quarantine and shadow memory make an RSS bound meaningless"))
    func aClientThatNeverReadsKeepsTheDaemonBounded() async throws {
        try await ExclusiveTestLock.shared.withLock {
            let mock = try await MockUpstream.start()
            defer { Task { await mock.shutdown() } }
            mock.setDefaultScript(MockScript(chunks: Array(repeating: String(repeating: "y", count: 4096), count: 6_250)))
            let home = try DaemonProcessTests.DaemonHome()
            try FileManager.default.createDirectory(atPath: home.directory + "/config/llmux", withIntermediateDirectories: true)
            try "default_model = \"mock/flood\"\n[providers.mock]\nbase_url = \"\(mock.baseURL)\"\n"
                .write(toFile: home.directory + "/config/llmux/config.toml", atomically: true, encoding: .utf8)
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket), "\(daemon.stderr)")
            let before = Self.residentKiB(daemon.pid)

            // A raw socket that sends 20 chats and never reads a byte.
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            #expect(SocketLocation.withAddress(home.socket) { connect(fd, $0, $1) } == 0)
            let lines = (0..<20).map { chatLine("n\($0)", model: "mock/flood") + "\n" }.joined()
            let written = Array(lines.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            #expect(written == lines.utf8.count)

            // Sample the daemon's RSS while the upstream floods it.
            var peak = before
            for _ in 0..<160 {
                peak = max(peak, Self.residentKiB(daemon.pid))
                try await Task.sleep(for: .milliseconds(50))
            }
            let growth = peak - before
            print("never-reading client: llmuxd RSS \(before) KiB -> peak \(peak) KiB (+\(growth) KiB) for 500 MB produced")
            #expect(growth < 250 * 1024, "llmuxd grew by \(growth) KiB")
            kill(daemon.pid, SIGTERM)
            _ = await daemon.wait(timeout: .seconds(10))
        }
    }
}
