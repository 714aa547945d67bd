/// `[budgets]`: USD limits per day and per month, for everything, per route
/// and per client (the name a client gives in `hello`).
public struct BudgetConfig: Sendable, Hashable {
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        case global
        case route(String)
        case client(String)

        /// `global`, `route:NAME` or `client:NAME`.
        public var description: String {
            switch self {
            case .global: return "global"
            case .route(let name): return "route:\(name)"
            case .client(let name): return "client:\(name)"
            }
        }
    }

    public enum Period: String, Sendable, Hashable {
        case day
        case month
    }

    public struct Limit: Sendable, Hashable {
        public var scope: Scope
        public var period: Period
        public var usd: Double

        public init(scope: Scope, period: Period, usd: Double) {
            self.scope = scope
            self.period = period
            self.usd = usd
        }
    }

    public var limits: [Limit]
    /// Output tokens assumed for a request without `max_tokens` when reserving its worst case.
    public var defaultMaxTokens: Int

    public init(limits: [Limit] = [], defaultMaxTokens: Int = 4096) {
        self.limits = limits
        self.defaultMaxTokens = defaultMaxTokens
    }
}
