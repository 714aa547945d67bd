package import LLMuxWire

/// What `llmux setup TOOL` produces for one tool: the text it prints (and `--write` puts in
/// the tool's file), the keys a merge sets in an existing file, and the environment and
/// arguments `llmux run TOOL` starts the tool with.
package struct ToolConfiguration: Sendable {
    package var tool: SetupTool
    /// The whole file as llmux writes it when there is none (for `shell`, the export lines).
    package var text: String
    /// For JSON files: the object llmux's keys are merged from (objects merge key by key).
    package var json: JSONValue?
    /// For TOML and flat YAML files: top-level `key = value` settings, each a TOML value's text
    /// (`"smart"`, `false`), and for TOML the tables llmux owns, replaced whole.
    package var settings: [(key: String, value: String)] = []
    package var tables: [(name: String, settings: [(key: String, value: String)])] = []
    /// Environment variables `llmux run` sets for the tool.
    package var environment: [String: String] = [:]
    /// Arguments `llmux run` puts before the user's.
    package var arguments: [String] = []
    /// What the user does next (a line for the init file, a variable to export), printed after the text.
    package var next: String?
}
