import Foundation
import LLMuxSetup
import LLMuxWire
import TOMLKit
import Testing

/// What `llmux setup` writes for each tool, read back by a parser of that format, and how it
/// merges into files a user already has. (The YAML, Lisp and Lua checks, which need a
/// Python, an Emacs and a Neovim, are in `ToolSetupProcessTests`.)
@Suite("Tool setup: formats and merges")
struct ToolSetupTests {
    /// A model name with characters each format must escape, so a missing escape fails the parse.
    static let endpoint = SetupEndpoint(baseURL: "http://127.0.0.1:8411", token: "llmux-t0ken", model: #"my"mo'del\x"#)

    static func configuration(_ tool: SetupTool) -> ToolConfiguration { tool.configuration(for: Self.endpoint) }

    @Test func claudeCodeSettingsSetTheAnthropicVariables() throws {
        let json = try JSONValue.parse(Self.configuration(.claudeCode).text)
        #expect(json["env"]?["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8411")
        #expect(json["env"]?["ANTHROPIC_AUTH_TOKEN"] == "llmux-t0ken")
        #expect(json["env"]?["ANTHROPIC_MODEL"]?.stringValue == Self.endpoint.model)
        #expect(Self.configuration(.claudeCode).environment["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8411")
    }

    @Test func codexConfigIsTOMLWithAResponsesProvider() throws {
        let table = try TOMLTable(string: Self.configuration(.codex).text)
        #expect(table["model"]?.string == Self.endpoint.model)
        #expect(table["model_provider"]?.string == "llmux")
        let provider = try #require(table["model_providers"]?.table?["llmux"]?.table)
        #expect(provider["base_url"]?.string == "http://127.0.0.1:8411/v1")
        #expect(provider["env_key"]?.string == "LLMUX_API_KEY")
        #expect(provider["wire_api"]?.string == "responses")
        #expect(provider["supports_websockets"]?.bool == false)
        // The file names the variable; the token itself is only in `llmux run codex`'s environment.
        #expect(!Self.configuration(.codex).text.contains("llmux-t0ken"))
        #expect(Self.configuration(.codex).environment["LLMUX_API_KEY"] == "llmux-t0ken")
    }

    @Test func zedSettingsAddAnOpenAICompatibleProvider() throws {
        let json = try JSONValue.parse(Self.configuration(.zed).text)
        let provider = json["language_models"]?["openai_compatible"]?["llmux"]
        #expect(provider?["api_url"] == "http://127.0.0.1:8411/v1")
        #expect(provider?["available_models"]?.arrayValue?.first?["name"]?.stringValue == Self.endpoint.model)
        #expect(!Self.configuration(.zed).text.contains("llmux-t0ken"))
    }

    @Test func shellExportsAreQuotedForEval() {
        let text = SetupTool.shell.configuration(for: SetupEndpoint(baseURL: "http://h:1", token: "a'b", model: "m")).text
        #expect(text.contains(#"export OPENAI_API_KEY='a'\''b'"#))
        #expect(text.contains("export OPENAI_BASE_URL='http://h:1/v1'"))
        #expect(text.contains("export ANTHROPIC_BASE_URL='http://h:1'"))
    }

    // MARK: - Merging into existing files

    @Test func aJSONMergeKeepsTheUsersKeys() throws {
        let existing = #"{"theme": "dark", "env": {"EDITOR": "vi", "ANTHROPIC_MODEL": "old"}, "permissions": {"allow": ["Bash"]}}"#
        let merged = try JSONValue.parse(try ConfigurationMerge.merged(Self.configuration(.claudeCode), into: existing, path: "settings.json"))
        #expect(merged["theme"] == "dark")
        #expect(merged["env"]?["EDITOR"] == "vi")
        #expect(merged["env"]?["ANTHROPIC_MODEL"]?.stringValue == Self.endpoint.model)
        #expect(merged["env"]?["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8411")
        #expect(merged["permissions"]?["allow"]?.arrayValue?.first == "Bash")
    }

    @Test func jsonWithCommentsIsRefusedNotRewritten() {
        let existing = "// Zed settings\n{\"vim_mode\": true}\n"
        #expect(throws: ConfigurationMerge.Refusal.self) {
            try ConfigurationMerge.merged(Self.configuration(.zed), into: existing, path: "settings.json")
        }
    }

    @Test func aTOMLMergeKeepsOtherSettingsAndProviders() throws {
        let existing = """
            model = "o3"
            approval_policy = "on-request"

            [model_providers.other]
            name = "other"
            base_url = "http://example.invalid/v1"

            [model_providers.llmux]
            name = "stale"
            wire_api = "chat"
            """
        let merged = try TOMLTable(string: try ConfigurationMerge.merged(Self.configuration(.codex), into: existing, path: "config.toml"))
        #expect(merged["model"]?.string == Self.endpoint.model)
        #expect(merged["approval_policy"]?.string == "on-request")
        #expect(merged["model_providers"]?.table?["other"]?.table?["base_url"]?.string == "http://example.invalid/v1")
        let llmux = try #require(merged["model_providers"]?.table?["llmux"]?.table)
        #expect(llmux["name"]?.string == "llmux")
        #expect(llmux["wire_api"]?.string == "responses")
    }

    @Test func aFlatYAMLMergeReplacesLlmuxKeysInPlace() throws {
        let existing = "# my aider settings\ndark-mode: true\nmodel: gpt-4o\nauto-commits: false\n"
        let merged = try ConfigurationMerge.merged(Self.configuration(.aider), into: existing, path: ".aider.conf.yml")
        let lines = merged.split(separator: "\n").map(String.init)
        #expect(lines.first == "# my aider settings")
        #expect(lines.contains("dark-mode: true"))
        #expect(lines.contains("auto-commits: false"))
        #expect(lines.filter { $0.hasPrefix("model:") }.count == 1)
        #expect(lines.contains { $0.hasPrefix("model: \"openai/") })
        #expect(lines.contains(#"openai-api-base: "http://127.0.0.1:8411/v1""#))
    }

    @Test func llmsModelListGetsAnEntryOnceAndNestedYAMLIsRefused() throws {
        let existing = "- model_id: local\n  model_name: qwen\n  api_base: http://localhost:8000/v1\n"
        let merged = try ConfigurationMerge.merged(Self.configuration(.llm), into: existing, path: "extra-openai-models.yaml")
        #expect(merged.hasPrefix(existing))
        #expect(merged.contains("- model_id: llmux"))
        #expect(throws: ConfigurationMerge.Refusal.self) {
            try ConfigurationMerge.merged(Self.configuration(.llm), into: merged, path: "extra-openai-models.yaml")
        }
        #expect(throws: ConfigurationMerge.Refusal.self) {
            try ConfigurationMerge.merged(Self.configuration(.continue), into: "name: mine\nmodels: []\n", path: "config.yaml")
        }
        // The file as llmux wrote it is rewritten without complaint.
        #expect(
            try ConfigurationMerge.merged(Self.configuration(.continue), into: Self.configuration(.continue).text, path: "c")
                == Self.configuration(.continue).text)
    }

    @Test func anInitFileLlmuxDidNotWriteIsRefused() throws {
        #expect(throws: ConfigurationMerge.Refusal.self) {
            try ConfigurationMerge.merged(Self.configuration(.gptel), into: "(setq x 1)\n", path: "llmux-gptel.el")
        }
        let own = Self.configuration(.gptel).text
        #expect(try ConfigurationMerge.merged(Self.configuration(.gptel), into: own, path: "llmux-gptel.el") == own)
    }

    @Test func theWriterKeepsABackupAndWritesAPrivateFile() throws {
        let home = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(home) }
        let writer = ConfigurationWriter(home: home, environment: [:], stamp: "S")
        let first = try writer.write(Self.configuration(.codex))
        #expect(first.path == home + "/.codex/config.toml")
        #expect(first.backup == nil)
        #expect(first.change.contains("+ model_provider = \"llmux\""))
        let attributes = try FileManager.default.attributesOfItem(atPath: first.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // The same configuration again changes nothing and makes no backup.
        #expect(try writer.write(Self.configuration(.codex)).change.isEmpty)
        // Another model: the old file is kept as the backup.
        let other = SetupTool.codex.configuration(for: SetupEndpoint(baseURL: Self.endpoint.baseURL, token: "t", model: "fast"))
        let second = try writer.write(other)
        #expect(second.backup == home + "/.codex/config.toml.llmux-backup-S")
        #expect(try String(contentsOfFile: home + "/.codex/config.toml.llmux-backup-S", encoding: .utf8).contains("my\\\"mo'del"))
        #expect(second.change.contains("+ model = \"fast\""))
    }

    @Test func filesFollowTheToolsOwnDirectoryVariables() {
        let environment = ["XDG_CONFIG_HOME": "/x", "CODEX_HOME": "/c", "CLAUDE_CONFIG_DIR": "/cl", "LLM_USER_PATH": "/l"]
        #expect(SetupTool.zed.file(home: "/h", environment: environment) == "/x/zed/settings.json")
        #expect(SetupTool.codex.file(home: "/h", environment: environment) == "/c/config.toml")
        #expect(SetupTool.claudeCode.file(home: "/h", environment: environment) == "/cl/settings.json")
        #expect(SetupTool.llm.file(home: "/h", environment: environment) == "/l/extra-openai-models.yaml")
        #expect(SetupTool.llm.file(home: "/h", environment: [:]) == "/h/.config/io.datasette.llm/extra-openai-models.yaml")
        #expect(SetupTool.shell.file(home: "/h", environment: environment) == nil)
    }
}
