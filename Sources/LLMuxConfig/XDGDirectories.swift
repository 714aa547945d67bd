/// The XDG base directories llmux and the tools it configures live in. A variable that is
/// unset or not an absolute path is ignored, as the XDG Base Directory specification says.
package enum XDGDirectories {
    /// `$XDG_CONFIG_HOME`, or `$HOME/.config`; nil when neither is usable.
    package static func configHome(_ environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") { return config }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.config" }
        return nil
    }
}
