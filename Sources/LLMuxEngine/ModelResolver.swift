package import LLMuxConfig
package import LLMuxWire

/// What a requested model name stands for: a route over one or more targets.
/// A plain model name or `provider/model` is a route of one target.
package struct RoutePlan: Sendable, Hashable {
    /// The route's name when the request named a configured route; `nil` for a plain model.
    package var routeName: String?
    package var route: RouteConfig
}

/// Maps a requested model name to a route, a configured model, or a provider's model.
///
/// A configured route or model name wins; otherwise `provider/model` addresses
/// the upstream model directly, whether or not the config lists it. The split
/// is at the first `/` only, so `openrouter/openai/gpt-4o` reaches OpenRouter's
/// `openai/gpt-4o`.
package struct ModelResolver: Sendable {
    package let config: DaemonConfig

    package init(config: DaemonConfig) {
        self.config = config
    }

    package func resolve(_ requested: String?) -> Result<RoutePlan, WireError> {
        guard let name = requested ?? self.config.defaultModel else {
            return .failure(WireError(.configError, "the request names no model and no default_model is configured"))
        }
        if let route = self.config.routes[name] {
            return .success(RoutePlan(routeName: name, route: route))
        }
        if let model = self.config.models[name], self.config.providers[model.provider] != nil {
            return .success(self.single(name, RouteTarget(provider: model.provider, upstreamModel: model.upstreamModel)))
        }
        if let slash = name.firstIndex(of: "/") {
            let providerName = String(name[..<slash])
            let upstream = String(name[name.index(after: slash)...])
            if self.config.providers[providerName] != nil, !upstream.isEmpty {
                return .success(self.single(name, RouteTarget(provider: providerName, upstreamModel: upstream)))
            }
        }
        let known = self.config.providers.keys.sorted().joined(separator: ", ")
        return .failure(
            WireError(
                .unknownModel,
                "unknown model '\(name)': use a configured model or route name, or provider/model with a configured provider (\(known))"
            )
        )
    }

    private func single(_ name: String, _ target: RouteTarget) -> RoutePlan {
        RoutePlan(
            routeName: nil,
            route: RouteConfig(name: name, targets: [target], retries: self.config.router.retries, backoffMs: self.config.router.backoffMs)
        )
    }

    /// The configured models and routes (and the default model when it is
    /// given as `provider/model`) for `models` frames. Upstream model lists are not fetched.
    /// Whether `target` takes requests needing `capability`: as its `[models.NAME]` entries say
    /// (`serves`), or else as its provider's kind does (Anthropic: chat only).
    package func serves(_ target: RouteTarget, _ capability: ChatRequest.Capability) -> Bool {
        let declared = self.config.models.values.filter { $0.provider == target.provider && $0.upstreamModel == target.upstreamModel }
            .compactMap(\.serves)
        if !declared.isEmpty { return declared.contains { $0.contains(capability.rawValue) } }
        guard let provider = self.config.providers[target.provider] else { return true }
        return provider.kind.capabilities.contains(capability)
    }

    package func listedModels() -> [ModelInfo] {
        var infos = self.config.models.values.map {
            ModelInfo(id: $0.name, provider: $0.provider, upstreamModel: $0.upstreamModel)
        }
        for route in self.config.routes.values {
            let first = route.targets[0]
            infos.append(
                ModelInfo(
                    id: route.name,
                    provider: first.provider,
                    upstreamModel: first.upstreamModel,
                    route: RouteInfo(strategy: route.strategy.name, targets: route.targets.map(\.description))
                )
            )
        }
        if let name = self.config.defaultModel, self.config.models[name] == nil, self.config.routes[name] == nil,
            case .success(let plan) = self.resolve(name)
        {
            let target = plan.route.targets[0]
            infos.append(ModelInfo(id: name, provider: target.provider, upstreamModel: target.upstreamModel))
        }
        return infos.sorted { $0.id < $1.id }
    }
}
