/// Providers that zero-config mode creates from environment variables.
/// README lists the same table.
package struct WellKnownProvider: Sendable, Hashable {
    package var name: String
    package var keyVariable: String
    package var baseURL: String
    package var defaultModel: String
    package var kind: ProviderConfig.Kind = .openai

    /// In priority order: the first one found gives the default model.
    package static let all: [WellKnownProvider] = [
        .init(name: "openai", keyVariable: "OPENAI_API_KEY", baseURL: "https://api.openai.com/v1", defaultModel: "gpt-4o-mini"),
        .init(
            name: "anthropic", keyVariable: "ANTHROPIC_API_KEY", baseURL: "https://api.anthropic.com/v1", defaultModel: "claude-3-5-haiku-latest",
            kind: .anthropic),
        .init(name: "openrouter", keyVariable: "OPENROUTER_API_KEY", baseURL: "https://openrouter.ai/api/v1", defaultModel: "openai/gpt-4o-mini"),
        .init(name: "groq", keyVariable: "GROQ_API_KEY", baseURL: "https://api.groq.com/openai/v1", defaultModel: "llama-3.1-8b-instant"),
        .init(name: "deepseek", keyVariable: "DEEPSEEK_API_KEY", baseURL: "https://api.deepseek.com/v1", defaultModel: "deepseek-chat"),
        .init(name: "mistral", keyVariable: "MISTRAL_API_KEY", baseURL: "https://api.mistral.ai/v1", defaultModel: "mistral-small-latest"),
        .init(
            name: "together", keyVariable: "TOGETHER_API_KEY", baseURL: "https://api.together.xyz/v1", defaultModel: "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        .init(
            name: "fireworks", keyVariable: "FIREWORKS_API_KEY", baseURL: "https://api.fireworks.ai/inference/v1",
            defaultModel: "accounts/fireworks/models/llama-v3p1-8b-instruct"),
        .init(name: "xai", keyVariable: "XAI_API_KEY", baseURL: "https://api.x.ai/v1", defaultModel: "grok-3-mini"),
        .init(
            name: "gemini", keyVariable: "GEMINI_API_KEY", baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", defaultModel: "gemini-2.0-flash"),
    ]
}
