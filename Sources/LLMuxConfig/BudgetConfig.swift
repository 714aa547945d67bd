/// `[budgets]`: USD limits per day and per month, for everything, per route
/// and per client (the name a client gives in `hello`).
package struct BudgetConfig: Sendable, Hashable {
    package enum Scope: Sendable, Hashable, CustomStringConvertible {
        case global
        case route(String)
        case client(String)

        /// `global`, `route:NAME` or `client:NAME`.
        package var description: String {
            switch self {
            case .global: return "global"
            case .route(let name): return "route:\(name)"
            case .client(let name): return "client:\(name)"
            }
        }
    }

    package enum Period: String, Sendable, Hashable {
        case day
        case month
    }

    package struct Limit: Sendable, Hashable {
        package var scope: Scope
        package var period: Period
        package var usd: Double

        package init(scope: Scope, period: Period, usd: Double) {
            self.scope = scope
            self.period = period
            self.usd = usd
        }
    }

    package var limits: [Limit]
    /// Output tokens assumed for a request without `max_tokens` when reserving its worst case.
    package var defaultMaxTokens: Int

    package init(limits: [Limit] = [], defaultMaxTokens: Int = 4096) {
        self.limits = limits
        self.defaultMaxTokens = defaultMaxTokens
    }
}
