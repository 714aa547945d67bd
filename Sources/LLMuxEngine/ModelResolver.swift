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
    /// What each target's `[models.NAME]` entries say it serves (`serves`), for the targets
    /// that have any; read once per configuration instead of once per request.
    private let declaredServes: [RouteTarget: Set<String>]

    package init(config: DaemonConfig) {
        self.config = config
        var declared: [RouteTarget: Set<String>] = [:]
        for model in config.models.values {
            guard let serves = model.serves else { continue }
            declared[RouteTarget(provider: model.provider, upstreamModel: model.upstreamModel), default: []].formUnion(serves)
        }
        self.declaredServes = declared
    }

    /// The plan for `requested` with only the targets that serve `capability`; a route left
    /// with none is `unsupported_operation`, naming its targets and how to say what they serve.
    package func resolve(_ requested: String?, for capability: ChatRequest.Capability) -> Result<RoutePlan, WireError> {
        let plan: RoutePlan
        switch self.resolve(requested) {
        case .success(let resolved): plan = resolved
        case .failure(let error): return .failure(error)
        }
        let serving = plan.route.targets.filter { self.serves($0, capability) }
        guard !serving.isEmpty else {
            let name = requested ?? self.config.defaultModel ?? plan.route.name
            let targets = plan.route.targets.map(\.description).joined(separator: ", ")
            return .failure(
                WireError(
                    .unsupportedOperation,
                    "'\(name)' serves no \(capability.rawValue) requests: none of its targets (\(targets)) does; set serves = [\"\(capability.rawValue)\"] on a [models] entry that does"
                ))
        }
        guard serving.count != plan.route.targets.count else { return .success(plan) }
        return .success(RoutePlan(routeName: plan.routeName, route: plan.route.keeping(serving)))
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

    /// Whether `target` takes requests needing `capability`: as its `[models.NAME]` entries say
    /// (`serves`), or else as its provider's kind does (Anthropic: chat only).
    package func serves(_ target: RouteTarget, _ capability: ChatRequest.Capability) -> Bool {
        if let declared = self.declaredServes[target] { return declared.contains(capability.rawValue) }
        guard let provider = self.config.providers[target.provider] else { return true }
        return provider.kind.capabilities.contains(capability)
    }

    /// The configured models and routes (and the default model when it is
    /// given as `provider/model`) for `models` frames. Upstream model lists are not fetched.
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
