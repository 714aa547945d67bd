/// Where the daemon's socket lives, shared by the daemon and every client:
/// an explicit path (`--socket`), then `LLMUX_SOCKET`, then
/// `$XDG_RUNTIME_DIR/llmux/llmux.sock`. There is deliberately no fallback
/// to /tmp: without a private runtime directory the caller must say where.
public enum SocketPaths {
    public static let missingRuntimeDirectoryMessage =
        "XDG_RUNTIME_DIR is not set, so there is no private place for the socket; "
        + "pass --socket PATH or set LLMUX_SOCKET (llmux does not fall back to /tmp)"

    /// The socket path, or `nil` when no rule applies (see `missingRuntimeDirectoryMessage`).
    public static func resolve(explicit: String?, environment: [String: String]) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = environment["LLMUX_SOCKET"], !env.isEmpty { return env }
        guard let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") else { return nil }
        return runtime + "/llmux/llmux.sock"
    }
}
