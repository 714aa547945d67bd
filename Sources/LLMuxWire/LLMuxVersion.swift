/// The version of this llmux build, reported in `hello` and `status`.
public enum LLMuxVersion {
    public static let current = "0.1.0"
}
