import Foundation
import LLMuxMockUpstream
import Testing

/// `llmux doctor` on a setup with one provider of each state: a key command that fails, an
/// unset key variable, a server that does not answer, and the mock upstream that does; then on a
/// healthy setup with a running daemon.
@Suite("llmux doctor", .tags(.processes), .fullTierOnly)
struct DoctorTests {
    @Test func aBrokenSetupNamesEachProblem() async throws {
        let mock = try await MockUpstream.start()
        let home = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(home) }
        try FileManager.default.createDirectory(atPath: home + "/config/llmux", withIntermediateDirectories: true)
        let config = """
            default_model = "good/m"

            [providers.good]
            kind = "openai"
            base_url = "\(mock.baseURL)"
            api_key_env = "GOOD_KEY"

            [providers.badcmd]
            kind = "openai"
            base_url = "\(mock.baseURL)"
            api_key_cmd = ["\(home)/key-command"]

            [providers.unset]
            kind = "anthropic"
            base_url = "\(mock.baseURL)"
            api_key_env = "UNSET_KEY"

            [providers.down]
            kind = "openai"
            base_url = "http://127.0.0.1:9/v1"
            api_key_env = "GOOD_KEY"
            """
        try config.write(toFile: home + "/config/llmux/config.toml", atomically: true, encoding: .utf8)
        // A key command that prints something and fails: what it printed is never shown.
        let script = "#!/bin/sh\necho printed-by-the-command\necho printed-to-stderr >&2\nexit 3\n"
        #expect(FileManager.default.createFile(atPath: home + "/key-command", contents: Data(script.utf8), attributes: [.posixPermissions: 0o700]))
        let environment = cleanEnvironment([
            "HOME": home, "XDG_CONFIG_HOME": home + "/config", "XDG_RUNTIME_DIR": home + "/run", "GOOD_KEY": "sk-good-secret",
        ])
        let result = try await ChildProcess.run(Executables.llmux, ["doctor"], environment: environment, timeout: .seconds(60))
        await mock.shutdown()
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        func line(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }
        #expect(line("ok    config: \(home)/config/llmux/config.toml: 4 providers") != nil, "\(result.stdout)")
        #expect(line("FAIL  provider badcmd: no key:")?.contains("api_key_cmd") == true, "\(result.stdout)")
        #expect(line("FAIL  provider unset: no key:")?.contains("UNSET_KEY") == true, "\(result.stdout)")
        #expect(line("FAIL  provider down: unreachable: GET http://127.0.0.1:9/v1/models") != nil, "\(result.stdout)")
        #expect(line("ok    provider good: GET \(mock.baseURL)/models: 200") != nil, "\(result.stdout)")
        #expect(line("note  daemon: not running") != nil, "\(result.stdout)")
        #expect(lines.last == "3 problems")
        // The key reached the mock in the header and nowhere in the output.
        #expect(mock.requests.contains { request in request.headers.contains { $0 == ("authorization", "Bearer sk-good-secret") } })
        #expect(!result.stdout.contains("sk-good-secret") && !result.stderr.contains("sk-good-secret"))
        #expect(!result.stdout.contains("printed-") && !result.stderr.contains("printed-"), "a key command's output is never shown")
    }

    @Test func aHealthySetupWithARunningDaemonIsWell() async throws {
        try await TestDaemon.with { daemon in
            let environment = cleanEnvironment([
                "HOME": daemon.directory, "XDG_CONFIG_HOME": daemon.directory + "/config", "LLMUX_SOCKET": daemon.socketPath,
            ])
            let result = try await ChildProcess.run(Executables.llmux, ["doctor", "--offline"], environment: environment, timeout: .seconds(60))
            #expect(result.stdout.contains("ok    daemon: llmuxd "), "\(result.stdout)")
            #expect(result.stdout.contains("ok    socket: "), "\(result.stdout)")
            // The zero-config environment of a bare home: the demo, a note, nothing wrong.
            #expect(result.stdout.contains("note  config: no config file"), "\(result.stdout)")
            #expect(result.status == 0, "\(result.stdout)")
            #expect(result.stdout.hasSuffix("all is well\n"))
        }
    }
}
