import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import Testing

/// The editor packages (`editors/nvim`, `editors/emacs`) and protocol.md's
/// minimal Python client, run headless against a real llmuxd and the mock
/// upstream. `.ci/run` installs neovim, emacs-nox and python3 and sets
/// `LLMUX_REQUIRE_EDITORS=1`, so in CI a missing editor fails instead of skipping.
@Suite("Editor clients", .tags(.processes), .fullTierOnly)
struct EditorClientTests {
    static var required: Bool { ProcessInfo.processInfo.environment["LLMUX_REQUIRE_EDITORS"] == "1" }

    static func find(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        return nil
    }

    static let nvim = find("nvim")
    static let emacs = find("emacs")
    static let python = find("python3")

    /// The scripts the editor tests use, by model name (see the comments at the top of each test file).
    static func scripts(_ mock: MockUpstream) {
        mock.setScript(MockScript(intervalMs: 40), forModel: "slow-echo")
        mock.setScript(MockScript.counting(3000, size: 4, intervalMs: 10), forModel: "endless")
        mock.setScript(MockScript(chunks: [String(repeating: "x", count: 200_000)]), forModel: "huge")
    }

    func run(_ executable: String, _ arguments: [String], _ daemon: TestDaemon) async throws -> (status: Int32, stdout: String, stderr: String) {
        let home = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(home) }
        let environment = cleanEnvironment([
            "LLMUX_SOCKET": daemon.socketPath, "HOME": home, "XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home, "XDG_STATE_HOME": home, "TERM": "dumb",
        ])
        return try await ChildProcess.run(executable, arguments, environment: environment, timeout: .seconds(120))
    }

    /// The client cancelled `count` streams of `mock/endless`: the mock saw each upstream connection close.
    /// Headless Neovim with only editors/nvim on its runtime path, running `script` from Tests/editors.
    static func neovimArguments(script: String) -> [String] {
        let root = RepositoryPaths.root
        return [
            "--headless", "-u", "NONE", "-i", "NONE", "--noplugin", "--cmd", "set rtp^=\(root)/editors/nvim", "-c", "runtime plugin/llmux.lua",
            "-c", "luafile \(root)/Tests/editors/\(script)",
        ]
    }

    /// Emacs in batch mode with editors/emacs on its load path, running the ERT tests of `script`.
    static func emacsArguments(script: String) -> [String] {
        let root = RepositoryPaths.root
        return ["--batch", "-Q", "-L", root + "/editors/emacs", "-l", root + "/Tests/editors/\(script)", "-f", "ert-run-tests-batch-and-exit"]
    }

    func expectCancelledStreamsClosed(_ daemon: TestDaemon, count: Int) async {
        let endless = daemon.mock.requests.filter { $0.body?["model"]?.stringValue == "endless" }
        #expect(endless.count == count)
        for request in endless {
            #expect(await daemon.mock.waitForClose(ofConnection: request.connectionID, timeout: .seconds(5)) != nil)
        }
    }

    func expectAllPassed(_ result: (status: Int32, stdout: String, stderr: String), checks: Int) {
        let lines = result.stdout.split(separator: "\n")
        #expect(result.status == 0, "exit \(result.status)\n\(result.stdout)\n\(result.stderr)")
        #expect(!lines.contains { $0.hasPrefix("FAIL") }, "\(result.stdout)")
        #expect(lines.filter { $0.hasPrefix("ok ") }.count == checks, "\(result.stdout)\n\(result.stderr)")
    }

    @Test(.enabled(if: nvim != nil || required, "neovim is not installed"))
    func neovimPluginHeadless() async throws {
        let nvim = try #require(Self.nvim, "neovim is required (LLMUX_REQUIRE_EDITORS=1): apt-get install neovim")
        try await TestDaemon.with { daemon in
            Self.scripts(daemon.mock)
            let result = try await run(
                nvim,
                Self.neovimArguments(script: "nvim_test.lua"),
                daemon
            )
            expectAllPassed(result, checks: 26)
            // The cancelled stream's upstream request was aborted, not left running.
            await expectCancelledStreamsClosed(daemon, count: 1)
        }
    }

    /// Inline completion as ghost text: a burst of five keystrokes asks five times, every request
    /// but the last is superseded (its upstream connection closed), the ghost text is the last
    /// answer, accepting inserts it, and leaving insert mode cancels a streaming one.
    @Test(.enabled(if: nvim != nil || required, "neovim is not installed"))
    func neovimInlineCompletion() async throws {
        let nvim = try #require(Self.nvim, "neovim is required (LLMUX_REQUIRE_EDITORS=1): apt-get install neovim")
        try await TestDaemon.with { daemon in
            Self.scripts(daemon.mock)
            daemon.mock.setScript(MockScript(intervalMs: 150), forModel: "coder")
            let result = try await run(
                nvim,
                Self.neovimArguments(script: "nvim_complete_test.lua"),
                daemon
            )
            expectAllPassed(result, checks: 9)
            await Self.expectBurstSuperseded(daemon, prompts: (1...5).map { "f(value" + String(repeating: "a", count: $0) })
            #expect(daemon.mock.requests.filter { $0.body?["model"]?.stringValue == "coder" }.allSatisfy { $0.body?["suffix"] == ")" })
            await expectCancelledStreamsClosed(daemon, count: 1)
        }
    }

    /// Emacs's ghost text, the same burst: five requests, the first four superseded (their
    /// upstream connections closed), the last answer shown and accepted; a dismiss cancels.
    @Test(.enabled(if: emacs != nil || required, "emacs is not installed"))
    func emacsInlineCompletion() async throws {
        let emacs = try #require(Self.emacs, "emacs is required (LLMUX_REQUIRE_EDITORS=1): apt-get install emacs-nox")
        try await TestDaemon.with { daemon in
            Self.scripts(daemon.mock)
            daemon.mock.setScript(MockScript(intervalMs: 150), forModel: "coder")
            let result = try await run(
                emacs,
                Self.emacsArguments(script: "llmux-complete-test.el"),
                daemon
            )
            #expect(result.status == 0, "exit \(result.status)\n\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.contains("Ran 2 tests, 2 results as expected"), "\(result.stderr)")
            await Self.expectBurstSuperseded(daemon, prompts: (1...5).map { "g(" + String(repeating: "b", count: $0) })
            await expectCancelledStreamsClosed(daemon, count: 1)
        }
    }

    /// The keystroke burst as the mock saw it: only the burst's requests, the last keystroke's
    /// among them, and every other one closed. A request superseded before its upstream was
    /// asked never reaches the mock: on a loaded machine (the whole suite at once) that can be
    /// every one but the last; and one superseded while its upstream request was being sent can
    /// reach the mock after its successor's, so the order it arrives in is not the typing order.
    /// Without `supersede` every request would reach it and run to its end, unclosed, which
    /// fails here. (CompletionTests waits for each to reach the mock.)
    static func expectBurstSuperseded(_ daemon: TestDaemon, prompts: [String]) async {
        let burst = daemon.mock.requests.filter { $0.body?["model"]?.stringValue == "coder" }
        let seen = burst.compactMap { $0.body?["prompt"]?.stringValue }
        #expect(seen.filter { $0 == prompts.last }.count == 1, "\(seen)")
        #expect(seen.allSatisfy(prompts.contains), "\(seen)")
        for request in burst where request.body?["prompt"]?.stringValue != prompts.last {
            #expect(await daemon.mock.waitForClose(ofConnection: request.connectionID, timeout: .seconds(5)) != nil, "a superseded request kept running")
        }
    }

    @Test(.enabled(if: emacs != nil || required, "emacs is not installed"))
    func emacsPackageWithERT() async throws {
        let emacs = try #require(Self.emacs, "emacs is required (LLMUX_REQUIRE_EDITORS=1): apt-get install emacs-nox")
        try await TestDaemon.with { daemon in
            Self.scripts(daemon.mock)
            let result = try await run(
                emacs,
                Self.emacsArguments(script: "llmux-test.el"),
                daemon
            )
            // ERT reports on stderr: "Ran 7 tests, 7 results as expected, 0 unexpected".
            #expect(result.status == 0, "exit \(result.status)\n\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.contains("Ran 7 tests, 7 results as expected"), "\(result.stderr)")
            await expectCancelledStreamsClosed(daemon, count: 2)
        }
    }

    /// The Python client printed in protocol.md's "Writing a client", as it stands there.
    static func protocolClient() throws -> String {
        let text = try String(contentsOfFile: RepositoryPaths.root + "/protocol.md", encoding: .utf8)
        let section = try #require(text.range(of: "## Writing a client"), "protocol.md lost its 'Writing a client' section")
        let rest = text[section.upperBound...]
        let open = try #require(rest.range(of: "```python\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        let directory = try TemporaryDirectory.make()
        let path = directory + "/ask.py"
        try String(rest[open.upperBound..<close.lowerBound]).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(.enabled(if: python != nil || required, "python3 is not installed"))
    func protocolDocumentClientStreamsFailsAndCancels() async throws {
        let python = try #require(Self.python, "python3 is required (LLMUX_REQUIRE_EDITORS=1)")
        let script = try Self.protocolClient()
        defer { TemporaryDirectory.remove((script as NSString).deletingLastPathComponent) }
        #expect(try String(contentsOfFile: script, encoding: .utf8).split(separator: "\n").count <= 40, "the minimal client grew past about 30 lines")
        try await TestDaemon.with { daemon in
            Self.scripts(daemon.mock)
            let environment = cleanEnvironment(["LLMUX_SOCKET": daemon.socketPath])
            let answered = try await ChildProcess.run(python, [script, "hello from python"], environment: environment, timeout: .seconds(60))
            #expect(answered.status == 0, "\(answered.stderr)")
            #expect(answered.stdout == "echo: hello from python\n")

            let failed = try await ChildProcess.run(python, [script, "hi", "nonsense"], environment: environment, timeout: .seconds(60))
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("llmux: unknown_model:"), "\(failed.stderr)")

            // Ctrl-C: SIGINT while it streams sends `cancel`; the upstream request is aborted.
            let child = try ChildProcess(python, [script, "count", "mock/endless"], environment: environment)
            let deadline = ContinuousClock.now + .seconds(30)
            while child.stdout.utf8.count < 40, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(child.stdout.utf8.count >= 40, "no output before the interrupt: \(child.stderr)")
            kill(child.pid, SIGINT)
            #expect(await child.wait(timeout: .seconds(30)) == 130, "\(child.stderr)")
            await expectCancelledStreamsClosed(daemon, count: 1)
            #expect(child.stdout.utf8.count < 3000 * 4)
        }
    }
}
