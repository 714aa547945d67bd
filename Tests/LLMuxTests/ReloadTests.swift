import Foundation
import LLMuxConfig
import LLMuxClient
import LLMuxDaemon
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOConcurrencyHelpers
import Testing

/// Hot reload: `reload` frames, SIGHUP and `llmux reload`.
@Suite("Configuration reload")
struct ReloadTests {
    /// The configuration a reload will read next: a valid one, or an error.
    final class NextConfig: Sendable {
        let value = NIOLockedValueBox<Result<DaemonConfig, ConfigError>?>(nil)

        func source(base mock: MockUpstream) -> LiveConfiguration.Source {
            { () throws(ConfigError) -> DaemonConfig in
                switch self.value.withLockedValue({ $0 }) {
                case .success(let config)?: return config
                case .failure(let error)?: throw error
                case nil: throw ConfigError(file: "config.toml", message: "no next config set")
                }
            }
        }
    }

    static func baseConfig(_ mock: MockUpstream) -> DaemonConfig {
        DaemonConfig(
            providers: ["mock": ProviderConfig(name: "mock", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)],
            models: ["fast": ModelConfig(name: "fast", provider: "mock", upstreamModel: "fast-upstream")],
            defaultModel: "mock/default",
            timeouts: TimeoutConfig(connectMs: 10_000, headerMs: 10_000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 30_000)
        )
    }

    func ask(_ connection: LLMuxConnection, _ frame: ClientFrame) async throws -> ServerFrame? {
        let id: String
        switch frame {
        case .reload(let value), .models(let value), .status(let value), .ping(let value): id = value
        default: return nil
        }
        try await connection.send(frame)
        for try await received in connection.frames where received.frame.id == id { return received.frame }
        return nil
    }

    @Test func reloadDuringTwentyLiveStreamsLosesNone() async throws {
        let next = NextConfig()
        try await TestDaemon.with(reloadSource: { next.source(base: $0) }) { daemon in
            daemon.mock.setDefaultScript(.counting(30, intervalMs: 20))
            var reloaded = Self.baseConfig(daemon.mock)
            reloaded.routes["smart"] = RouteConfig(name: "smart", targets: [RouteTarget(provider: "mock", upstreamModel: "routed")])
            next.value.withLockedValue { $0 = .success(reloaded) }
            let ids = (0..<20).map { "s\($0)" }
            let log = try await daemon.connect { connection in
                var batch = ByteBuffer()
                for id in ids { batch.writeString(chatLine(id) + "\n") }
                try await connection.sendRaw(batch)
                try await Task.sleep(for: .milliseconds(150))
                try await connection.send(.reload(id: "reload-1"))
                return try await FrameLog.read(from: connection, until: Set(ids), alsoWaitForUnidentified: 0)
            }
            for id in ids {
                #expect(log.isWellFormed(id))
                #expect(log.text(id).count == 30 * 8, "\(id) lost deltas across the reload")
                if case .done = log.terminal(id) {} else { Issue.record("\(id) did not end with done") }
            }
            // The new route is served once reloaded.
            let after = try await daemon.connect { connection in
                try await connection.send(line: chatLine("new", model: "smart"))
                return try await FrameLog.read(from: connection, until: ["new"])
            }
            if case .done(let done)? = after.terminal("new") {
                #expect(done.route == "smart")
                #expect(done.model == "routed")
            } else {
                Issue.record("the reloaded route does not serve: \(String(describing: after.terminal("new")))")
            }
        }
    }

    @Test func connectionPoolsOfUnchangedProvidersSurviveAReload() async throws {
        let next = NextConfig()
        try await TestDaemon.with(reloadSource: { next.source(base: $0) }) { daemon in
            var reloaded = Self.baseConfig(daemon.mock)
            reloaded.routes["extra"] = RouteConfig(name: "extra", targets: [RouteTarget(provider: "mock", upstreamModel: "x")])
            next.value.withLockedValue { $0 = .success(reloaded) }
            try await daemon.connect { connection in
                try await connection.send(line: chatLine("before"))
                _ = try await FrameLog.read(from: connection, until: ["before"])
                guard case .reloaded(_, let summary)? = try await ask(connection, .reload(id: "x")) else {
                    Issue.record("no reloaded")
                    return
                }
                #expect(summary.routes == 1)
                try await connection.send(line: chatLine("after"))
                _ = try await FrameLog.read(from: connection, until: ["after"])
            }
            let connections = daemon.mock.requests.map(\.connectionID)
            #expect(connections.count == 2)
            #expect(Set(connections).count == 1, "the reload dropped the pooled upstream connection")
        }
    }

    @Test func anInvalidReloadChangesNothingAndSaysWhere() async throws {
        let next = NextConfig()
        try await TestDaemon.with(reloadSource: { next.source(base: $0) }) { daemon in
            next.value.withLockedValue {
                $0 = .failure(
                    ConfigError(file: "/home/u/.config/llmux/config.toml", line: 7, key: "routes.smart.strategy", message: "unknown strategy 'fastest'"))
            }
            try await daemon.connect { connection in
                let answer = try await ask(connection, .reload(id: "r1"))
                guard case .error(_, let error)? = answer else {
                    Issue.record("expected an error, got \(String(describing: answer))")
                    return
                }
                #expect(error.code == .configError)
                #expect(error.message.contains("config.toml:7: routes.smart.strategy: unknown strategy"), "\(error.message)")
                // The old configuration still serves.
                guard case .models(_, let models, _)? = try await ask(connection, .models(id: "m")) else {
                    Issue.record("no models")
                    return
                }
                #expect(models.map(\.id).contains("fast"))
                try await connection.send(line: chatLine("c"))
                let log = try await FrameLog.read(from: connection, until: ["c"])
                if case .done = log.terminal("c") {} else { Issue.record("the old configuration stopped serving") }
            }
            #expect(daemon.logText.contains("reload failed"))
        }
    }

    @Test func withoutASourceReloadIsRefusedClearly() async throws {
        try await TestDaemon.with { daemon in
            try await daemon.connect { connection in
                guard case .error(_, let error)? = try await ask(connection, .reload(id: "r")) else {
                    Issue.record("expected an error")
                    return
                }
                #expect(error.code == .configError)
                #expect(error.message.contains("no configuration source"))
            }
        }
    }

    @Test(.tags(.processes), .fullTierOnly) func sighupAndLlmuxReloadReadTheFileAgain() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let home = try DaemonProcessTests.DaemonHome()
            let configDirectory = home.directory + "/config/llmux"
            try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
            let configFile = configDirectory + "/config.toml"
            let base = """
                default_model = "local/echo"
                [providers.local]
                kind = "demo"

                """
            try base.write(toFile: configFile, atomically: true, encoding: .utf8)
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket))

            // SIGHUP picks up a new route.
            try (base + "[routes.smart]\ntargets = [\"local/echo\"]\n").write(toFile: configFile, atomically: true, encoding: .utf8)
            kill(daemon.pid, SIGHUP)
            var listed = ""
            for _ in 0..<50 {
                listed = try await ChildProcess.run(Executables.llmux, ["models", "--no-autostart"], environment: home.environment).stdout
                if listed.contains("smart") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(listed.contains("smart\troute (fallback): local/echo"), "\(listed)")

            // `llmux reload` with a broken file: exit 78, file and line, nothing changes.
            try (base + "[routes.smart]\ntargets = [\"local/echo\"]\nstrategy = \"cheapest\"\n").write(toFile: configFile, atomically: true, encoding: .utf8)
            let broken = try await ChildProcess.run(Executables.llmux, ["reload"], environment: home.environment)
            #expect(broken.status == 78, "\(broken.stderr)")
            #expect(broken.stderr.contains("config.toml:6: routes.smart.strategy"), "\(broken.stderr)")
            let answer = try await ChildProcess.run(Executables.llmux, ["-m", "smart", "--no-autostart", "hi"], environment: home.environment)
            #expect(answer.status == 0, "the route from before the broken reload must still serve: \(answer.stderr)")

            // A fixed file reloads.
            try (base + "[routes.smart]\ntargets = [\"local/echo\"]\nstrategy = \"latency\"\n").write(toFile: configFile, atomically: true, encoding: .utf8)
            let fixed = try await ChildProcess.run(Executables.llmux, ["reload"], environment: home.environment)
            #expect(fixed.status == 0, "\(fixed.stderr)")
            #expect(fixed.stdout.contains("1 routes"), "\(fixed.stdout)")

            kill(daemon.pid, SIGTERM)
            #expect(await daemon.wait(timeout: .seconds(10)) == 0)
        }
    }
}
