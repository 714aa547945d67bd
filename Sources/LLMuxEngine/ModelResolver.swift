public import LLMuxConfig
public import LLMuxWire

/// Where a request goes: the provider and the model id sent to it.
public struct ResolvedTarget: Sendable, Hashable {
    public var provider: ProviderConfig
    public var upstreamModel: String
}

/// Maps a requested model name to a provider and upstream model.
///
/// A configured model name wins; otherwise `provider/model` addresses the
/// upstream model directly, whether or not the config lists it. The split is
/// at the first `/` only, so `openrouter/openai/gpt-4o` reaches OpenRouter's
/// `openai/gpt-4o`.
public struct ModelResolver: Sendable {
    public let config: DaemonConfig

    public init(config: DaemonConfig) {
        self.config = config
    }

    public func resolve(_ requested: String?) -> Result<ResolvedTarget, WireError> {
        guard let name = requested ?? self.config.defaultModel else {
            return .failure(WireError(.configError, "the request names no model and no default_model is configured"))
        }
        if let model = self.config.models[name], let provider = self.config.providers[model.provider] {
            return .success(ResolvedTarget(provider: provider, upstreamModel: model.upstreamModel))
        }
        if let slash = name.firstIndex(of: "/") {
            let providerName = String(name[..<slash])
            let upstream = String(name[name.index(after: slash)...])
            if let provider = self.config.providers[providerName], !upstream.isEmpty {
                return .success(ResolvedTarget(provider: provider, upstreamModel: upstream))
            }
        }
        let known = self.config.providers.keys.sorted().joined(separator: ", ")
        return .failure(
            WireError(
                .unknownModel,
                "unknown model '\(name)': use a configured model name or provider/model with a configured provider (\(known))"
            )
        )
    }

    /// The configured models (and, for each provider, nothing more: upstream
    /// model lists are not fetched) for `models` frames.
    public func listedModels() -> [ModelInfo] {
        var infos = self.config.models.values.map {
            ModelInfo(id: $0.name, provider: $0.provider, upstreamModel: $0.upstreamModel)
        }
        if let name = self.config.defaultModel, self.config.models[name] == nil,
            case .success(let target) = self.resolve(name)
        {
            infos.append(ModelInfo(id: name, provider: target.provider.name, upstreamModel: target.upstreamModel))
        }
        return infos.sorted { $0.id < $1.id }
    }
}
