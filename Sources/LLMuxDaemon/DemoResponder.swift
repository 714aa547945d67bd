import LLMuxMockScript

/// The built-in demo provider's answer: a script that says plainly it is a demo, played in
/// process by `DemoTransport`. It exists so that `llmux "..."` shows streaming
/// end to end on a machine without any provider key.
enum DemoResponder {
    static let script: MockScript = {
        let text = """
            [llmux demo] This answer comes from llmux's built-in DEMO provider, not from a language model. \
            It streams word by word so you can watch tokens arrive as they are produced, which is what \
            streaming is for: the first words show up at once instead of after the whole answer is ready. \
            To get real answers, set OPENAI_API_KEY (or OPENROUTER_API_KEY, GROQ_API_KEY, ...) for llmuxd, \
            or describe your providers in ~/.config/llmux/config.toml, then restart llmuxd.
            """
        var script = MockScript(firstTokenDelayMs: 40, intervalMs: 15)
        script.chunks = text.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { index, word in
            index == 0 ? String(word) : " " + word
        }
        return script
    }()
}
