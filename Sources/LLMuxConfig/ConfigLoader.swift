import Foundation
import TOMLKit

/// Reads `config.toml`, or builds a configuration from the environment when
/// there is no file (zero-config mode).
package struct ConfigLoader: Sendable {
    package var environment: [String: String]

    package init(environment: [String: String]) {
        self.environment = environment
    }

    /// `$XDG_CONFIG_HOME/llmux/config.toml`, or `~/.config/llmux/config.toml`.
    package func defaultConfigPath() -> String? {
        XDGDirectories.configHome(self.environment).map { $0 + "/llmux/config.toml" }
    }

    /// Loads the configuration. An explicit path (`--config`, `LLMUX_CONFIG`)
    /// must exist; the default path may be absent, which selects zero-config mode.
    package func load(explicitPath: String?) throws(ConfigError) -> DaemonConfig {
        let explicit = explicitPath ?? self.environment["LLMUX_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw ConfigError(file: explicit, message: "config file not found")
            }
            return try self.load(file: explicit)
        }
        if let path = self.defaultConfigPath(), FileManager.default.fileExists(atPath: path) {
            return try self.load(file: path)
        }
        return self.zeroConfig()
    }

    package func load(file path: String) throws(ConfigError) -> DaemonConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        let config = try self.parse(text, path: path)
        // Inline secrets (api_key, or headers and query items, which can carry keys) need a private file.
        let holdsSecrets = config.providers.values.contains { provider in
            if case .inline = provider.keySource { return true }
            return !provider.headers.isEmpty || !provider.query.isEmpty
        }
        var info = stat()
        if holdsSecrets, stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw ConfigError(
                file: path,
                message:
                    "holds secrets (api_key, headers or query) but other users can read it (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)"
            )
        }
        return config
    }

    /// Builds one provider per well-known key found in the environment, or
    /// the demo provider when there is none.
    package func zeroConfig() -> DaemonConfig {
        var config = DaemonConfig()
        for known in WellKnownProvider.all {
            guard let key = self.environment[known.keyVariable], !key.isEmpty else { continue }
            var baseURL = known.baseURL
            if known.name == "openai", let custom = self.environment["OPENAI_BASE_URL"], !custom.isEmpty {
                baseURL = custom
            }
            config.providers[known.name] = ProviderConfig(
                name: known.name,
                kind: known.kind,
                baseURL: baseURL,
                keySource: .environment(known.keyVariable)
            )
            if config.defaultModel == nil { config.defaultModel = "\(known.name)/\(known.defaultModel)" }
            config.notes.append("zero-config: provider '\(known.name)' from \(known.keyVariable)")
        }
        if config.providers.isEmpty {
            config.providers[DaemonConfig.demoProviderName] = Self.demoProvider
            config.defaultModel = DaemonConfig.demoModel
            config.notes.append(
                "zero-config: no provider key found in the environment; serving the built-in DEMO provider. "
                    + "Set OPENAI_API_KEY (or another key listed in the README) or write a config file for real answers."
            )
        }
        return config
    }

    static let demoProvider = ProviderConfig(
        name: DaemonConfig.demoProviderName,
        baseURL: "",
        keySource: .none,
        http1Only: true,
        isDemo: true
    )

    // MARK: - Parsing

    package func parse(_ text: String, path: String) throws(ConfigError) -> DaemonConfig {
        let locator = ConfigSourceLocator(text: text)
        func fail(_ keyPath: [String], _ message: String) -> ConfigError {
            ConfigError(file: path, line: locator.line(of: keyPath), key: keyPath.joined(separator: "."), message: message)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: path, line: error.source.begin.line, message: "invalid TOML: \(error.description)")
        } catch {
            throw ConfigError(file: path, message: "invalid TOML: \(error)")
        }
        try Self.checkKeys(
            root,
            allowed: [
                "default_model", "log_level", "shutdown_grace_ms", "timeouts", "providers", "models", "routes", "router",
                "http_socket", "http_listen", "http_allow_remote", "http_header_timeout_ms", "http_idle_timeout_ms", "prices", "budgets", "max_connections",
                "telemetry",
            ], at: [], fail)

        var config = DaemonConfig(sourcePath: path)
        config.defaultModel = try Self.string(root, "default_model", at: [], fail)
        if let level = try Self.string(root, "log_level", at: [], fail) {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(level) else {
                throw fail(["log_level"], "must be one of \(levels.joined(separator: ", "))")
            }
            config.logLevel = level
        }

        if root["shutdown_grace_ms"] != nil {
            guard let grace = root["shutdown_grace_ms"]?.int, grace >= 0, grace <= 3_600_000 else {
                throw fail(["shutdown_grace_ms"], "must be a whole number of milliseconds from 0 to 3600000")
            }
            config.shutdownGraceMs = grace
        }

        if root["max_connections"] != nil {
            guard let limit = root["max_connections"]?.int, limit >= 1, limit <= 100_000 else {
                throw fail(["max_connections"], "must be a whole number from 1 to 100000")
            }
            config.maxConnections = limit
        }
        if let value = root["http_socket"] {
            guard let on = value.bool else { throw fail(["http_socket"], "must be true or false") }
            config.http.unixSocket = on
        }
        for (key, apply) in [
            ("http_header_timeout_ms", { (config: inout DaemonConfig, ms: Int) in config.http.headerTimeoutMs = ms }),
            ("http_idle_timeout_ms", { (config: inout DaemonConfig, ms: Int) in config.http.idleTimeoutMs = ms }),
        ] where root[key] != nil {
            guard let ms = root[key]?.int, ms >= 1, ms <= 3_600_000 else {
                throw fail([key], "must be a whole number of milliseconds from 1 to 3600000")
            }
            apply(&config, ms)
        }
        if let value = root["http_allow_remote"] {
            guard let on = value.bool else { throw fail(["http_allow_remote"], "must be true or false") }
            config.http.allowRemote = on
        }
        if let text = try Self.string(root, "http_listen", at: [], fail) {
            guard let address = HostPort(parsing: text) else {
                throw fail(["http_listen"], "must be host:port, for example \"127.0.0.1:8080\"")
            }
            guard address.isLoopback || config.http.allowRemote else {
                throw fail(
                    ["http_listen"],
                    "\(address) is not a loopback address; anyone who reaches it with the token spends your keys. Set http_allow_remote = true to force it"
                )
            }
            config.http.listen = address
        }

        if let timeouts = try Self.table(root, "timeouts", at: [], fail) {
            let at = ["timeouts"]
            try Self.checkKeys(timeouts, allowed: ["connect_ms", "header_ms", "first_token_ms", "idle_ms", "total_ms"], at: at, fail)
            var t = TimeoutConfig.default
            t.connectMs = try Self.milliseconds(timeouts, "connect_ms", at: at, fail) ?? t.connectMs
            t.headerMs = try Self.optionalMilliseconds(timeouts, "header_ms", at: at, fail, default: t.headerMs)
            t.firstTokenMs = try Self.optionalMilliseconds(timeouts, "first_token_ms", at: at, fail, default: t.firstTokenMs)
            t.idleMs = try Self.optionalMilliseconds(timeouts, "idle_ms", at: at, fail, default: t.idleMs)
            t.totalMs = try Self.optionalMilliseconds(timeouts, "total_ms", at: at, fail, default: t.totalMs)
            config.timeouts = t
        }

        if let providers = try Self.table(root, "providers", at: [], fail) {
            for name in providers.keys.sorted() {
                let at = ["providers", name]
                guard Self.isValidName(name) else {
                    throw fail(at, "a provider name may use letters, digits, '-' and '_' only")
                }
                guard let table = providers[name]?.table else { throw fail(at, "must be a table") }
                config.providers[name] = try Self.provider(name: name, table: table, at: at, fail)
            }
        }

        if let models = try Self.table(root, "models", at: [], fail) {
            for name in models.keys.sorted() {
                let at = ["models", name]
                guard !name.isEmpty, !name.contains("/") else {
                    throw fail(at, "a model name must be non-empty and contain no '/' (that form addresses provider/model directly)")
                }
                guard let table = models[name]?.table else { throw fail(at, "must be a table") }
                try Self.checkKeys(table, allowed: ["provider", "model", "serves"], at: at, fail)
                guard let provider = try Self.string(table, "provider", at: at, fail) else {
                    throw fail(at + ["provider"], "missing; name the provider this model runs on")
                }
                guard config.providers[provider] != nil else {
                    throw fail(at + ["provider"], "no provider named '\(provider)' is configured")
                }
                guard let upstream = try Self.string(table, "model", at: at, fail), !upstream.isEmpty else {
                    throw fail(at + ["model"], "missing; give the upstream model id")
                }
                var serves: Set<String>?
                if let value = table["serves"] {
                    let names = value.array?.compactMap(\.string) ?? []
                    let known = ModelConfig.capabilityNames
                    guard let array = value.array, !names.isEmpty, names.count == array.count, names.allSatisfy(known.contains) else {
                        throw fail(at + ["serves"], "must be a non-empty array of \(known.map { "\"\($0)\"" }.joined(separator: ", "))")
                    }
                    serves = Set(names)
                }
                config.models[name] = ModelConfig(name: name, provider: provider, upstreamModel: upstream, serves: serves)
            }
        }

        if let prices = try Self.table(root, "prices", at: [], fail) {
            for name in prices.keys.sorted() {
                let at = ["prices", name]
                guard let table = prices[name]?.table else { throw fail(at, "must be a table: { input = ..., output = ... }") }
                try Self.checkKeys(table, allowed: ["input", "cached_input", "output", "cache_write", "cache_write_1h"], at: at, fail)
                func price(_ key: String, required: Bool) throws(ConfigError) -> Double? {
                    guard let value = table[key] else {
                        if required { throw fail(at + [key], "missing; USD per million tokens") }
                        return nil
                    }
                    guard let number = value.double ?? value.int.map(Double.init), number >= 0, number.isFinite else {
                        throw fail(at + [key], "must be a number of USD per million tokens, 0 or more")
                    }
                    return number
                }
                config.prices[name] = PriceOverride(
                    inputPerMillion: try price("input", required: true)!,
                    cachedInputPerMillion: try price("cached_input", required: false),
                    outputPerMillion: try price("output", required: true)!,
                    cacheWritePerMillion: try price("cache_write", required: false),
                    cacheWrite1hPerMillion: try price("cache_write_1h", required: false)
                )
            }
        }

        if let router = try Self.table(root, "router", at: [], fail) {
            config.router = try Self.router(router, fail)
        }

        if let routes = try Self.table(root, "routes", at: [], fail) {
            for name in routes.keys.sorted() {
                let at = ["routes", name]
                guard !name.isEmpty, !name.contains("/") else {
                    throw fail(at, "a route name must be non-empty and contain no '/' (that form addresses provider/model directly)")
                }
                guard config.models[name] == nil else {
                    throw fail(at, "'\(name)' is already a model name; a route needs a name of its own")
                }
                guard let table = routes[name]?.table else { throw fail(at, "must be a table") }
                config.routes[name] = try Self.route(name: name, table: table, config: config, at: at, fail)
            }
        }

        for route in config.routes.values.sorted(by: { $0.name < $1.name }) {
            guard let other = route.downgradeRoute else { continue }
            guard config.routes[other] != nil, other != route.name else {
                throw fail(["routes", route.name, "on_budget"], "'\(other)' is not another configured route")
            }
        }

        if let budgets = try Self.table(root, "budgets", at: [], fail) {
            config.budgets = try Self.budgets(budgets, config: config, fail)
        }

        if let telemetry = try Self.table(root, "telemetry", at: [], fail) {
            config.telemetry = try Self.telemetry(telemetry, fail)
        }

        if let model = config.defaultModel {
            if config.models[model] == nil && config.routes[model] == nil {
                let parts = model.split(separator: "/", maxSplits: 1)
                guard parts.count == 2, config.providers[String(parts[0])] != nil else {
                    throw fail(["default_model"], "'\(model)' is neither a configured model or route nor provider/model of a configured provider")
                }
            }
        }
        if config.providers.isEmpty {
            throw ConfigError(file: path, message: "no providers configured; add a [providers.NAME] table")
        }
        return config
    }

    private static func provider(
        name: String,
        table: TOMLTable,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> ProviderConfig {
        try checkKeys(
            table,
            allowed: [
                "kind", "base_url", "api_key", "api_key_env", "api_key_file", "api_key_cmd", "http1_only", "max_inflight", "timeouts",
                "headers", "query", "deployment", "api_version", "fim_api", "proxy",
            ],
            at: at,
            fail
        )
        let kindName = try string(table, "kind", at: at, fail) ?? "openai"
        var maxInflight: Int?
        if let value = table["max_inflight"] {
            guard let limit = value.int, limit > 0, limit <= 100_000 else {
                throw fail(at + ["max_inflight"], "must be a whole number from 1 to 100000")
            }
            maxInflight = limit
        }
        let timeouts = try timeoutOverrides(table, at: at, fail)
        if kindName == "demo" {
            var demo = ConfigLoader.demoProvider.renamed(name)
            demo.maxInflight = maxInflight
            demo.timeouts = timeouts
            return demo
        }
        guard let kind = ProviderConfig.Kind(rawValue: kindName) else {
            let kinds = (ProviderConfig.Kind.allCases.map(\.rawValue) + ["demo"]).joined(separator: ", ")
            throw fail(at + ["kind"], "unknown provider kind '\(kindName)'; known kinds: \(kinds)")
        }
        guard let baseURL = try string(table, "base_url", at: at, fail) else {
            throw fail(at + ["base_url"], "missing; for example \"https://api.openai.com/v1\"")
        }
        guard Self.isHTTPURL(baseURL) else {
            throw fail(at + ["base_url"], "must be an http:// or https:// URL")
        }
        var sources: [ProviderConfig.KeySource] = []
        if let variable = try string(table, "api_key_env", at: at, fail) {
            guard !variable.isEmpty else { throw fail(at + ["api_key_env"], "must name an environment variable") }
            sources.append(.environment(variable))
        }
        if let file = try string(table, "api_key_file", at: at, fail) {
            guard !file.isEmpty else { throw fail(at + ["api_key_file"], "must be a file path") }
            sources.append(.file(file))
        }
        if let value = table["api_key_cmd"] {
            guard let array = value.array else {
                throw fail(at + ["api_key_cmd"], "must be an array of strings (argv, run without a shell)")
            }
            var argv: [String] = []
            for item in array {
                guard let s = item.string else {
                    throw fail(at + ["api_key_cmd"], "must be an array of strings (argv, run without a shell)")
                }
                argv.append(s)
            }
            guard !argv.isEmpty else { throw fail(at + ["api_key_cmd"], "must not be empty") }
            sources.append(.command(argv))
        }
        if let inline = try string(table, "api_key", at: at, fail) {
            guard !inline.isEmpty else { throw fail(at + ["api_key"], "must not be empty") }
            sources.append(.inline(Secret(inline)))
        }
        guard sources.count <= 1 else {
            throw fail(at, "give exactly one of api_key, api_key_env, api_key_file, api_key_cmd")
        }
        var http1Only = false
        if let value = table["http1_only"] {
            guard let b = value.bool else { throw fail(at + ["http1_only"], "must be true or false") }
            http1Only = b
        }
        var provider = ProviderConfig(name: name, kind: kind, baseURL: baseURL, keySource: sources.first ?? .none, http1Only: http1Only)
        provider.maxInflight = maxInflight
        provider.timeouts = timeouts
        func stringTable(_ key: String) throws(ConfigError) -> [String: String] {
            guard let value = table[key] else { return [:] }
            guard let entries = value.table else { throw fail(at + [key], "must be a table of strings, for example { \"X-Title\" = \"llmux\" }") }
            var result: [String: String] = [:]
            for entry in entries.keys.sorted() {
                guard let text = entries[entry]?.string, !entry.isEmpty else { throw fail(at + [key, entry], "must be a string") }
                result[entry] = text
            }
            return result
        }
        provider.headers = try stringTable("headers")
        let reserved = ["authorization", "x-api-key", "api-key", "content-type", "content-length", "host"]
        if let clash = provider.headers.keys.first(where: { reserved.contains($0.lowercased()) }) {
            throw fail(at + ["headers", clash], "llmux sets this header itself; give the key with api_key_env, api_key_file or api_key_cmd")
        }
        provider.query = try stringTable("query")
        if let proxy = try string(table, "proxy", at: at, fail) {
            if proxy.trimmingCharacters(in: .whitespaces).isEmpty {
                provider.proxy = .direct
            } else {
                do {
                    provider.proxy = .server(try UpstreamProxy.parse(proxy))
                } catch {
                    throw fail(at + ["proxy"], error.description)
                }
            }
        }
        provider.deployment = try string(table, "deployment", at: at, fail)
        provider.apiVersion = try string(table, "api_version", at: at, fail)
        if kind != .azure, provider.deployment != nil || provider.apiVersion != nil {
            throw fail(at + [provider.deployment != nil ? "deployment" : "api_version"], "applies to kind = \"azure\" only")
        }
        if let fim = try string(table, "fim_api", at: at, fail) {
            guard kind == .openai else { throw fail(at + ["fim_api"], "applies to kind = \"openai\" only") }
            guard let api = ProviderConfig.FIMAPI(rawValue: fim) else {
                throw fail(at + ["fim_api"], "must be one of \(ProviderConfig.FIMAPI.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            provider.fimAPI = api
        }
        return provider
    }

    private static func router(_ table: TOMLTable, _ fail: ([String], String) -> ConfigError) throws(ConfigError) -> RouterConfig {
        let at = ["router"]
        try checkKeys(table, allowed: ["breaker_failures", "breaker_open_ms", "exploration", "default_cooldown_ms", "retries", "backoff_ms"], at: at, fail)
        var router = RouterConfig()
        if let value = table["breaker_failures"] {
            guard let n = value.int, n >= 1, n <= 1000 else { throw fail(at + ["breaker_failures"], "must be a whole number from 1 to 1000") }
            router.breakerFailures = n
        }
        router.breakerOpenMs = try milliseconds(table, "breaker_open_ms", at: at, fail) ?? router.breakerOpenMs
        router.defaultCooldownMs = try milliseconds(table, "default_cooldown_ms", at: at, fail) ?? router.defaultCooldownMs
        router.backoffMs = try milliseconds(table, "backoff_ms", at: at, fail) ?? router.backoffMs
        if let value = table["exploration"] {
            guard let share = value.double ?? value.int.map(Double.init), share >= 0, share <= 1 else {
                throw fail(at + ["exploration"], "must be a number from 0 to 1")
            }
            router.exploration = share
        }
        router.retries = try retries(table, at: at, fail) ?? router.retries
        return router
    }

    private static func retries(_ table: TOMLTable, at: [String], _ fail: ([String], String) -> ConfigError) throws(ConfigError) -> Int? {
        guard let value = table["retries"] else { return nil }
        guard let n = value.int, n >= 0, n <= 10 else { throw fail(at + ["retries"], "must be a whole number from 0 to 10") }
        return n
    }

    private static func route(
        name: String,
        table: TOMLTable,
        config: DaemonConfig,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> RouteConfig {
        try checkKeys(
            table,
            allowed: ["targets", "strategy", "weights", "hedge_ms", "retries", "backoff_ms", "fallback_on", "timeouts", "on_budget"],
            at: at,
            fail
        )
        guard let items = table["targets"]?.array, !items.isEmpty else {
            throw fail(at + ["targets"], "missing or empty; list the targets as \"provider/model\" or configured model names")
        }
        var targets: [RouteTarget] = []
        for item in items {
            guard let text = item.string, !text.isEmpty else {
                throw fail(at + ["targets"], "each target must be a string: \"provider/model\" or a configured model name")
            }
            if let model = config.models[text] {
                targets.append(RouteTarget(provider: model.provider, upstreamModel: model.upstreamModel))
                continue
            }
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw fail(at + ["targets"], "'\(text)' is neither a configured model nor provider/model")
            }
            guard config.providers[parts[0]] != nil else {
                throw fail(at + ["targets"], "'\(text)' names the provider '\(parts[0])', which is not configured")
            }
            targets.append(RouteTarget(provider: parts[0], upstreamModel: parts[1]))
        }
        guard Set(targets).count == targets.count else {
            throw fail(at + ["targets"], "a target is listed twice")
        }

        let strategyName = try string(table, "strategy", at: at, fail) ?? "fallback"
        let strategy: RouteConfig.Strategy
        switch strategyName {
        case "fallback":
            strategy = .fallback
        case "latency":
            strategy = .latency
        case "weighted":
            guard let weightItems = table["weights"]?.array else {
                throw fail(at + ["weights"], "the weighted strategy needs weights = [...], one per target")
            }
            var weights: [Double] = []
            for item in weightItems {
                guard let w = item.double ?? item.int.map(Double.init), w >= 0, w.isFinite else {
                    throw fail(at + ["weights"], "each weight must be a number >= 0")
                }
                weights.append(w)
            }
            guard weights.count == targets.count else {
                throw fail(at + ["weights"], "has \(weights.count) entries for \(targets.count) targets")
            }
            guard weights.contains(where: { $0 > 0 }) else { throw fail(at + ["weights"], "at least one weight must be above 0") }
            strategy = .weighted(weights)
        case "hedge":
            guard let delay = try milliseconds(table, "hedge_ms", at: at, fail) else {
                throw fail(at + ["hedge_ms"], "the hedge strategy needs hedge_ms, the wait for a first token before starting the next target")
            }
            guard targets.count >= 2 else { throw fail(at + ["targets"], "the hedge strategy needs at least two targets") }
            strategy = .hedge(delayMs: delay)
        case "cost":
            strategy = .cost
        default:
            throw fail(at + ["strategy"], "unknown strategy '\(strategyName)'; use fallback, weighted, latency, hedge or cost")
        }
        if table["weights"] != nil, case .weighted = strategy {
        } else if table["weights"] != nil {
            throw fail(at + ["weights"], "weights apply to the weighted strategy only")
        }
        if table["hedge_ms"] != nil, case .hedge = strategy {
        } else if table["hedge_ms"] != nil {
            throw fail(at + ["hedge_ms"], "hedge_ms applies to the hedge strategy only")
        }

        var route = RouteConfig(
            name: name,
            targets: targets,
            strategy: strategy,
            retries: try retries(table, at: at, fail) ?? config.router.retries,
            backoffMs: try milliseconds(table, "backoff_ms", at: at, fail) ?? config.router.backoffMs,
            timeouts: try timeoutOverrides(table, at: at, fail)
        )
        if let onBudget = try string(table, "on_budget", at: at, fail) {
            guard onBudget.hasPrefix("downgrade:"), onBudget.count > "downgrade:".count else {
                throw fail(at + ["on_budget"], "must be \"downgrade:ROUTE\" (over budget, serve the request by that route)")
            }
            route.downgradeRoute = String(onBudget.dropFirst("downgrade:".count))
        }
        if let value = table["fallback_on"] {
            guard let list = value.array else { throw fail(at + ["fallback_on"], "must be an array of HTTP statuses") }
            var statuses: Set<Int> = []
            for item in list {
                guard let status = item.int, (400...599).contains(status) else {
                    throw fail(at + ["fallback_on"], "each entry must be an HTTP error status from 400 to 599")
                }
                statuses.insert(status)
            }
            route.fallbackStatuses = statuses
        }
        return route
    }

    private static func budgets(
        _ table: TOMLTable,
        config: DaemonConfig,
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> BudgetConfig {
        var budgets = BudgetConfig()
        func limits(_ table: TOMLTable, scope: BudgetConfig.Scope, at: [String], extra: Set<String>) throws(ConfigError) {
            try checkKeys(table, allowed: extra.union(["daily_usd", "monthly_usd"]), at: at, fail)
            for (key, period) in [("daily_usd", BudgetConfig.Period.day), ("monthly_usd", .month)] {
                guard let value = table[key] else { continue }
                guard let usd = value.double ?? value.int.map(Double.init), usd >= 0, usd.isFinite else {
                    throw fail(at + [key], "must be a number of US dollars, 0 or more")
                }
                budgets.limits.append(BudgetConfig.Limit(scope: scope, period: period, usd: usd))
            }
        }
        let at = ["budgets"]
        try limits(table, scope: .global, at: at, extra: ["routes", "clients", "default_max_tokens"])
        if let value = table["default_max_tokens"] {
            guard let n = value.int, n > 0 else { throw fail(at + ["default_max_tokens"], "must be a positive number of tokens") }
            budgets.defaultMaxTokens = n
        }
        if let routes = try Self.table(table, "routes", at: at, fail) {
            for name in routes.keys.sorted() {
                guard config.routes[name] != nil else { throw fail(at + ["routes", name], "no route named '\(name)' is configured") }
                guard let route = routes[name]?.table else { throw fail(at + ["routes", name], "must be a table") }
                try limits(route, scope: .route(name), at: at + ["routes", name], extra: [])
            }
        }
        if let clients = try Self.table(table, "clients", at: at, fail) {
            for name in clients.keys.sorted() {
                guard let client = clients[name]?.table else { throw fail(at + ["clients", name], "must be a table") }
                try limits(client, scope: .client(name), at: at + ["clients", name], extra: [])
            }
        }
        return budgets
    }

    /// `[telemetry]`.
    private static func telemetry(_ table: TOMLTable, _ fail: ([String], String) -> ConfigError) throws(ConfigError) -> TelemetryConfig {
        let at = ["telemetry"]
        try checkKeys(table, allowed: ["traces", "endpoint", "protocol", "service_name", "export_delay_ms", "export_timeout_ms"], at: at, fail)
        var telemetry = TelemetryConfig()
        if let value = table["traces"] {
            guard let traces = value.bool else { throw fail(at + ["traces"], "must be true or false") }
            telemetry.traces = traces
        }
        if let endpoint = try string(table, "endpoint", at: at, fail) {
            guard Self.isHTTPURL(endpoint) else {
                throw fail(at + ["endpoint"], "must be an http:// or https:// URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318")
            }
            telemetry.endpoint = endpoint
        }
        if let name = try string(table, "protocol", at: at, fail) {
            guard let wireProtocol = TelemetryConfig.WireProtocol(rawValue: name) else {
                let known = TelemetryConfig.WireProtocol.allCases.map(\.rawValue).joined(separator: " or ")
                throw fail(at + ["protocol"], "must be \(known) (llmuxd exports OTLP over HTTP, not gRPC)")
            }
            telemetry.wireProtocol = wireProtocol
        }
        if let name = try string(table, "service_name", at: at, fail) {
            guard !name.isEmpty else { throw fail(at + ["service_name"], "must not be empty") }
            telemetry.serviceName = name
        }
        telemetry.exportDelayMs = try milliseconds(table, "export_delay_ms", at: at, fail)
        telemetry.exportTimeoutMs = try milliseconds(table, "export_timeout_ms", at: at, fail)
        return telemetry
    }

    /// `[...timeouts]` under a provider or a route.
    private static func timeoutOverrides(
        _ parent: TOMLTable,
        at parentPath: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> TimeoutOverrides {
        guard let table = try table(parent, "timeouts", at: parentPath, fail) else { return TimeoutOverrides() }
        let at = parentPath + ["timeouts"]
        try checkKeys(table, allowed: ["header_ms", "first_token_ms", "idle_ms", "total_ms"], at: at, fail)
        func read(_ key: String) throws(ConfigError) -> Int? {
            guard let value = table[key] else { return nil }
            guard let ms = value.int, ms >= 0 else {
                throw fail(at + [key], "must be a whole number of milliseconds (0 turns the limit off)")
            }
            return ms
        }
        return TimeoutOverrides(
            headerMs: try read("header_ms"),
            firstTokenMs: try read("first_token_ms"),
            idleMs: try read("idle_ms"),
            totalMs: try read("total_ms")
        )
    }

    /// An absolute `http://` or `https://` URL with a host (a provider's `base_url`, a collector).
    private static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme else { return false }
        return ["http", "https"].contains(scheme) && url.host != nil
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    private static func checkKeys(
        _ table: TOMLTable,
        allowed: Set<String>,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) {
        for key in table.keys.sorted() where !allowed.contains(key) {
            throw fail(at + [key], "unknown key; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func string(
        _ table: TOMLTable,
        _ key: String,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else { throw fail(at + [key], "must be a string") }
        return s
    }

    private static func table(
        _ table: TOMLTable,
        _ key: String,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let t = value.table else { throw fail(at + [key], "must be a table") }
        return t
    }

    private static func milliseconds(
        _ table: TOMLTable,
        _ key: String,
        at: [String],
        _ fail: ([String], String) -> ConfigError
    ) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let ms = value.int, ms > 0 else { throw fail(at + [key], "must be a positive whole number of milliseconds") }
        return ms
    }

    /// Like `milliseconds`, but `0` turns the limit off.
    private static func optionalMilliseconds(
        _ table: TOMLTable,
        _ key: String,
        at: [String],
        _ fail: ([String], String) -> ConfigError,
        default fallback: Int?
    ) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return fallback }
        guard let ms = value.int, ms >= 0 else {
            throw fail(at + [key], "must be a whole number of milliseconds (0 turns the limit off)")
        }
        return ms == 0 ? nil : ms
    }
}

extension ProviderConfig {
    func renamed(_ name: String) -> ProviderConfig {
        var copy = self
        copy.name = name
        return copy
    }
}
