import Foundation
import LLMuxClient
import LLMuxDaemon
import LLMuxWire
import Testing
@testable import llmux_bench

/// llmuxd under systemd's protocols: socket activation and sd_notify.
@Suite("systemd integration")
struct SystemdTests {
    @Test(.tags(.processes), .fullTierOnly) func socketActivatedDaemonServesAChat() async throws {
        let activator = try #require(
            systemTool("systemd-socket-activate"),
            "systemd-socket-activate is required (Debian's systemd package)"
        )
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            let socket = home.directory + "/activated.sock"
            // No XDG_RUNTIME_DIR at all: the daemon must not need a path when systemd passes the socket.
            var env = home.environment
            env.removeValue(forKey: "XDG_RUNTIME_DIR")
            // systemd-socket-activate passes on only the variables named with -E: a sanitized
            // run's suppressions must reach llmuxd through it.
            let passed = ProcessSpawner.inheritedVariables.filter { ProcessInfo.processInfo.environment[$0] != nil }.flatMap { ["-E", $0] }
            let daemon = try ChildProcess(activator, ["-l", socket] + passed + [Executables.llmuxd], environment: env)
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(10)) }
            // The first connection makes systemd-socket-activate start llmuxd with the socket.
            let chat = try await ChildProcess.run(
                Executables.llmux,
                ["--socket", socket, "--no-autostart", "-m", "demo/mock:chunks=3,size=4", "hi"],
                environment: cleanEnvironment()
            )
            #expect(chat.status == 0, "\(chat.stderr) / daemon: \(daemon.stderr)")
            #expect(chat.stdout == "000000010002")
            #expect(daemon.stderr.contains("listening on the socket passed by systemd"))
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
        }
    }

    @Test(.tags(.processes), .fullTierOnly) func notifiesReadyStatusReloadingAndStopping() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            let notifyPath = home.directory + "/notify.sock"
            let notify = try NotifySocket(path: notifyPath)
            defer { notify.close() }
            var env = home.environment
            env["NOTIFY_SOCKET"] = notifyPath
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: env)
            let ready = try #require(await notify.receive(until: "READY=1"), "no READY=1: \(daemon.stderr)")
            #expect(ready.contains("STATUS=0 connections, 0 requests in flight, 0 served"))
            #expect(SocketLocation.isAnswering(home.socket), "READY=1 must come only once the socket listens")
            // SIGHUP: RELOADING=1 with the monotonic clock, then READY=1 again.
            kill(daemon.pid, SIGHUP)
            let reloading = try #require(await notify.receive(until: "RELOADING=1"), "no RELOADING=1: \(daemon.stderr)")
            let stamp = reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let nowMicroseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
            #expect(stamp.map { $0 <= nowMicroseconds && nowMicroseconds - $0 < 30_000_000 } == true, "MONOTONIC_USEC missing or wrong: \(reloading)")
            #expect(await notify.receive(until: "READY=1") != nil, "no READY=1 after the reload")
            kill(daemon.pid, SIGTERM)
            #expect(await notify.receive(until: "STOPPING=1") != nil)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
        }
    }
}

@Suite("systemd unit files")
struct SystemdUnitTests {
    @Test(.tags(.processes), .fullTierOnly) func unitsPassSystemdAnalyzeVerify() async throws {
        let analyze = try #require(
            systemTool("systemd-analyze"),
            "systemd-analyze is required (Debian's systemd package)"
        )
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        mkdir(directory + "/run", 0o700)
        for unit in ["llmuxd.socket", "llmuxd.service"] {
            var text = try String(contentsOfFile: RepositoryPaths.root + "/systemd/" + unit, encoding: .utf8)
            // verify checks that ExecStart exists: point it at the binary under test.
            text = text.replacingOccurrences(of: "%h/.local/bin/llmuxd", with: Executables.llmuxd)
            try text.write(toFile: directory + "/" + unit, atomically: true, encoding: .utf8)
        }
        let result = try await ChildProcess.run(
            analyze,
            ["--user", "verify", directory + "/llmuxd.socket", directory + "/llmuxd.service"],
            environment: cleanEnvironment(["XDG_RUNTIME_DIR": directory + "/run", "HOME": directory])
        )
        #expect(result.status == 0, "systemd-analyze verify: \(result.stdout) \(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }
}

@Suite("Graceful shutdown", .tags(.processes), .fullTierOnly)
struct GracefulShutdownTests {
    /// Starts llmuxd (demo provider) with `grace`, runs a request of `chunks` 50 ms deltas,
    /// sends SIGTERM after its first delta, and returns the request's frames and the exit status.
    /// With `sendLate`, a second chat goes in 100 ms after the signal (it must be refused).
    func shutdownDuringRequest(graceMs: Int, chunks: Int, sendLate: Bool = true) async throws -> (FrameLog, Int32, [ServerFrame]) {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            let config = home.directory + "/config.toml"
            try "default_model = \"demo/x\"\nshutdown_grace_ms = \(graceMs)\n[providers.demo]\nkind = \"demo\"\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let daemon = try ChildProcess(Executables.llmuxd, ["--config", config], environment: home.environment)
            _ = await waitUntilAnswering(home.socket)
            return try await LLMuxConnection.withConnection(socketPath: home.socket) { connection in
                try await connection.send(line: chatLine("long", model: "demo/mock:chunks=\(chunks),size=4,interval_ms=50"))
                var log = FrameLog()
                var late: [ServerFrame] = []
                var signalled = false
                do {
                    for try await received in connection.frames {
                        if received.frame.id == "late" { late.append(received.frame) } else { log.append(received.frame) }
                        if case .delta = received.frame, !signalled {
                            signalled = true
                            kill(daemon.pid, SIGTERM)
                            guard sendLate else { continue }
                            try await Task.sleep(for: .milliseconds(100))
                            // A new request during the grace period is refused. (With a short grace on a loaded
                            // machine the daemon may already have closed the connection: then there is no answer.)
                            try? await connection.send(line: chatLine("late", model: "demo/x"))
                        }
                        if log.terminal("long") != nil && (!late.isEmpty || !sendLate) { break }
                    }
                } catch  where log.terminal("long") != nil {
                    // The daemon closed the connection after the request ended; with the late line
                    // still unread, the close is a reset rather than an end of stream.
                }
                let status = await daemon.wait(timeout: .seconds(15))
                // Should a connection end without the terminal frame, how llmuxd exited and what it said.
                if log.terminal("long") == nil {
                    Issue.record("no terminal frame for 'long'; llmuxd exited with \(status), its stderr ends: \(daemon.stderr.suffix(4000))")
                }
                return (log, status, late)
            }
        }
    }

    @Test func requestsInFlightFinishWithinTheGracePeriod() async throws {
        let (log, status, late) = try await shutdownDuringRequest(graceMs: 8000, chunks: 30)
        #expect(log.isWellFormed("long"))
        guard case .done(let done)? = log.terminal("long") else {
            Issue.record("expected done: \(log.all)")
            return
        }
        #expect(done.finishReason == "stop")
        #expect(log.text("long") == (0..<30).map { String(repeating: "0", count: 4 - String($0).count) + String($0) }.joined())
        guard case .error(_, let refused)? = late.first else {
            Issue.record("the late request got \(late)")
            return
        }
        #expect(refused.code == .shuttingDown)
        #expect(status == 0)
    }

    @Test func requestsStillRunningAfterTheGracePeriodEndWithShuttingDown() async throws {
        // No late line here: with a 300 ms grace on a loaded machine it can arrive after the session
        // stopped reading, and a Unix socket closed with unread input resets the client's end, which
        // NIO then closes without reading the frames still queued for it (seen once under
        // AddressSanitizer: 12 deltas, then nothing).
        let (log, status, _) = try await shutdownDuringRequest(graceMs: 300, chunks: 200, sendLate: false)
        #expect(log.isWellFormed("long"))
        guard case .error(_, let error)? = log.terminal("long") else {
            Issue.record("expected an error: \(log.all)")
            return
        }
        #expect(error.code == .shuttingDown)
        #expect(error.retryable)
        #expect(status == 0)
    }
}

@Suite("llmux service install")
struct ServiceInstallTests {
    @Test(.tags(.processes), .fullTierOnly) func writesTheRepositoryUnitsWithThisLlmuxd() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let env = cleanEnvironment(["XDG_CONFIG_HOME": directory + "/config", "HOME": directory])
        let result = try await ChildProcess.run(Executables.llmux, ["service", "install"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("systemctl --user enable --now llmuxd.socket"))
        let unitDirectory = directory + "/config/systemd/user"
        let socket = try String(contentsOfFile: unitDirectory + "/llmuxd.socket", encoding: .utf8)
        let service = try String(contentsOfFile: unitDirectory + "/llmuxd.service", encoding: .utf8)
        // The installed units are the repository's, with ExecStart pointing at the llmuxd beside llmux.
        let repoSocket = try String(contentsOfFile: RepositoryPaths.root + "/systemd/llmuxd.socket", encoding: .utf8)
        let repoService = try String(contentsOfFile: RepositoryPaths.root + "/systemd/llmuxd.service", encoding: .utf8)
        #expect(socket == repoSocket)
        #expect(service == repoService.replacingOccurrences(of: "ExecStart=%h/.local/bin/llmuxd", with: "ExecStart=\(Executables.llmuxd)"))
        var info = stat()
        #expect(stat(unitDirectory + "/llmuxd.service", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o644)
    }

    @Test(.tags(.processes), .fullTierOnly) func enableReportsAMissingUserManagerClearly() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        mkdir(directory + "/run", 0o700)
        let env = cleanEnvironment([
            "XDG_CONFIG_HOME": directory + "/config", "HOME": directory,
            "XDG_RUNTIME_DIR": directory + "/run", "DBUS_SESSION_BUS_ADDRESS": "unix:path=\(directory)/no-bus",
        ])
        let result = try await ChildProcess.run(Executables.llmux, ["service", "install", "--enable"], environment: env)
        #expect(result.status == 1)
        #expect(result.stderr.contains("systemctl --user daemon-reload failed"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/config/systemd/user/llmuxd.socket"))
    }
}

@Suite("Daemon logging destinations", .tags(.processes), .fullTierOnly)
struct DaemonLoggingTests {
    @Test func journalWhenStderrIsTheJournalStream() {
        let identity: (device: UInt64, inode: UInt64) = (64769, 123_456)
        #expect(DaemonLogging.destination(environment: ["JOURNAL_STREAM": "64769:123456"], stderrIdentity: identity) == .journal)
        // Inherited from a parent whose stderr was the journal, but ours is not: not the journal.
        #expect(DaemonLogging.destination(environment: ["JOURNAL_STREAM": "64769:999", "INVOCATION_ID": "x"], stderrIdentity: identity) == .prefixedText)
        #expect(DaemonLogging.destination(environment: [:], stderrIdentity: identity) == .plainText)
        #expect(DaemonLogging.destination(environment: ["NOTIFY_SOCKET": "/run/x"], stderrIdentity: nil) == .prefixedText)
    }

    @Test func prefixedLinesCarryThePriority() {
        let line = SystemdLogHandler.prefixedLine(level: .warning, message: "slow\nclient", metadata: ["request_id": "r1"])
        #expect(line == "<4>slow client request_id=r1\n")
        #expect(SystemdLogHandler.prefixedLine(level: .debug, message: "x", metadata: [:]) == "<7>x\n")
    }

    @Test func journalRecordsHaveStructuredFields() {
        let fields = SystemdLogHandler.journalFields(
            level: .info,
            message: "request done",
            metadata: ["request_id": "r1", "model": "gpt-4o-mini", "provider": "openai", "outcome": "stop", "client": "nvim"],
            label: "llmuxd"
        )
        #expect(fields.contains("MESSAGE=request done"))
        #expect(fields.contains("PRIORITY=6"))
        #expect(fields.contains("REQUEST_ID=r1"))
        #expect(fields.contains("MODEL=gpt-4o-mini"))
        #expect(fields.contains("PROVIDER=openai"))
        #expect(fields.contains("OUTCOME=stop"))
        #expect(fields.contains("CLIENT=nvim"))
        #expect(DaemonLogging.journalField("ahc-connection-id") == "AHC_CONNECTION_ID")
    }

    @Test func llmuxdUnderSystemdWritesPrefixedLines() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            var env = home.environment
            env["INVOCATION_ID"] = "0123456789abcdef"
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: env)
            #expect(await waitUntilAnswering(home.socket))
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
            let lines = daemon.stderr.split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(daemon.stderr)")
            #expect(lines.contains { $0.hasPrefix("<5>zero-config") })
        }
    }
}

/// What systemd's protocols must not be able to do to llmuxd: block it, or open a door.
@Suite("systemd integration: failures")
struct SystemdFailureTests {
    @Test(.tags(.processes), .fullTierOnly) func aNotifySocketThatIsNeverReadBlocksNeitherServingNorShutdown() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            let notifyPath = home.directory + "/notify.sock"
            let notify = try NotifySocket(path: notifyPath)
            defer { notify.close() }
            // Fill the socket's queue, as a receiver that stopped reading leaves it.
            let sender = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(sender) }
            var queued = 0
            var lastError: Int32 = 0
            while queued < 100_000 {
                let sent = SocketLocation.withAddress(notifyPath) { address, length in
                    "STATUS=filler".withCString { sendto(sender, $0, 13, Int32(MSG_DONTWAIT), address, length) }
                }
                guard let sent, sent > 0 else {
                    lastError = errno
                    break
                }
                queued += 1
            }
            #expect(lastError == EAGAIN || lastError == EWOULDBLOCK, "the notify queue did not fill after \(queued): \(String(cString: strerror(lastError)))")
            var env = home.environment
            env["NOTIFY_SOCKET"] = notifyPath
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: env)
            #expect(await waitUntilAnswering(home.socket), "llmuxd did not serve: \(daemon.stderr)")
            let chat = try await ChildProcess.run(
                Executables.llmux,
                ["--socket", home.socket, "--no-autostart", "-m", "demo/mock:chunks=2,size=3", "hi"],
                environment: cleanEnvironment()
            )
            #expect(chat.status == 0, "\(chat.stderr)")
            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0, "llmuxd did not finish shutting down: \(daemon.stderr)")
        }
    }

    @Test(.tags(.processes), .fullTierOnly) func socketActivationChecksTheDirectoryOfHTTPSock() async throws {
        let activator = try #require(systemTool("systemd-socket-activate"), "systemd-socket-activate is required (Debian's systemd package)")
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            // http.sock would go into $XDG_RUNTIME_DIR/llmux, here open to everyone.
            let open = home.directory + "/run/llmux"
            mkdir(open, 0o777)
            chmod(open, 0o777)
            let socket = home.directory + "/activated.sock"
            // systemd-socket-activate passes on only the variables named with -E: XDG_RUNTIME_DIR among them.
            let passed = (ProcessSpawner.inheritedVariables.filter { ProcessInfo.processInfo.environment[$0] != nil } + home.environment.keys.sorted())
                .flatMap { ["-E", $0] }
            let daemon = try ChildProcess(activator, ["-l", socket] + passed + [Executables.llmuxd], environment: home.environment)
            for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(10)) }
            // The first connection starts llmuxd, which must refuse to bind http.sock there.
            _ = try? await ChildProcess.run(
                Executables.llmux,
                ["--socket", socket, "--no-autostart", "-m", "demo/mock:chunks=1", "hi"],
                environment: cleanEnvironment()
            )
            let status = await daemon.wait(timeout: .seconds(10))
            #expect(status == 73, "llmuxd served with http.sock in a directory open to others: \(daemon.stderr)")
            #expect(daemon.stderr.contains("open to other users"), "\(daemon.stderr)")
            #expect(!FileManager.default.fileExists(atPath: open + "/http.sock"))
        }
    }
}
