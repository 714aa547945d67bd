import LLMuxConfig

/// The tools `llmux setup` knows: each one's configuration file and format, and how
/// `llmux run` starts it.
package enum SetupTool: String, CaseIterable, Sendable {
    case claudeCode = "claude-code"
    case codex
    case aider
    case `continue`
    case zed
    case gptel
    case codecompanion
    case llm
    case shell

    /// The file the configuration goes in, where the tool looks for it (its own variable for
    /// its directory, then XDG_CONFIG_HOME, then the home directory); nil for `shell`, whose
    /// configuration is environment variables.
    package func file(home: String, environment: [String: String]) -> String? {
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let configHome = XDGDirectories.configHome(environment) ?? home + "/.config"
        switch self {
        case .claudeCode: return (nonEmpty("CLAUDE_CONFIG_DIR") ?? home + "/.claude") + "/settings.json"
        case .codex: return (nonEmpty("CODEX_HOME") ?? home + "/.codex") + "/config.toml"
        case .aider: return home + "/.aider.conf.yml"
        case .continue: return home + "/.continue/config.yaml"
        case .zed: return configHome + "/zed/settings.json"
        case .gptel: return home + "/.emacs.d/llmux-gptel.el"
        case .codecompanion: return configHome + "/nvim/lua/llmux_codecompanion.lua"
        case .llm: return (nonEmpty("LLM_USER_PATH") ?? configHome + "/io.datasette.llm") + "/extra-openai-models.yaml"
        case .shell: return nil
        }
    }

    package var format: ConfigurationFormat {
        switch self {
        case .claudeCode, .zed: return .json
        case .codex: return .toml
        case .aider: return .flatYAML
        case .continue, .llm: return .yaml
        case .gptel: return .elisp
        case .codecompanion: return .lua
        case .shell: return .shell
        }
    }

    /// The program `llmux run TOOL` starts; nil for tools that live inside an editor and are
    /// configured by their file alone.
    package var executable: String? {
        switch self {
        case .claudeCode: return "claude"
        case .codex: return "codex"
        case .aider: return "aider"
        case .zed: return "zed"
        case .continue, .gptel, .codecompanion, .llm, .shell: return nil
        }
    }
}

/// How a configuration file is written and, when one is already there, merged.
package enum ConfigurationFormat: Sendable {
    /// A JSON object: llmux's keys are set in it, everything else is kept.
    case json
    /// A TOML document: llmux's keys and tables are set in it, everything else is kept (comments are not).
    case toml
    /// YAML of top-level `key: value` lines only (aider's): llmux's lines replace the same keys.
    case flatYAML
    /// Nested YAML: written when the file is missing or llmux wrote it; never edited otherwise.
    case yaml
    /// Emacs Lisp and Lua: a file of llmux's own, loaded from the user's init file.
    case elisp
    case lua
    /// Environment variables, to `eval`; nothing to write.
    case shell
}
