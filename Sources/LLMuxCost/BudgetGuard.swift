package import Foundation
package import LLMuxConfig
package import LLMuxLedger
package import LLMuxWire
import NIOConcurrencyHelpers

/// Enforces `[budgets]`: before a request runs, its worst-case cost is
/// reserved against every limit that applies to it (global, its route, its
/// client); at its end the reservation is replaced by what it really cost.
/// A request that would take any limit past its amount is refused.
///
/// Because every admission checks spent + reserved + its own reservation,
/// concurrent requests against an almost-spent budget overshoot it by at most
/// one request's underestimate. Spending is seeded from the ledger, so a
/// restart keeps the day's and the month's totals.
package final class BudgetGuard: Sendable {
    /// Dollars already spent in a limit's current period, from the ledger.
    package typealias SpentLookup = @Sendable (BudgetConfig.Scope, Date) -> Double

    package struct Reservation: Sendable {
        let amount: Double
        let keys: [LimitKey]
    }

    package enum Admission: Sendable {
        case granted(Reservation)
        case exceeded(WireError)
    }

    struct LimitKey: Hashable, Sendable {
        var scope: BudgetConfig.Scope
        var period: BudgetConfig.Period
    }

    private struct Account {
        var usd: Double
        var periodStart: Date
        var spent: Double
        var reserved: Double = 0
    }

    private let accounts = NIOLockedValueBox<[LimitKey: Account]>([:])
    private let spentLookup: SpentLookup
    private let calendar: Calendar

    package init(limits: [BudgetConfig.Limit], calendar: Calendar = .current, now: Date = Date(), spent: @escaping SpentLookup) {
        self.spentLookup = spent
        self.calendar = calendar
        self.update(limits: limits, now: now)
    }

    /// New limits (after a reload); what was spent is read again from the ledger.
    package func update(limits: [BudgetConfig.Limit], now: Date = Date()) {
        var fresh: [LimitKey: Account] = [:]
        for limit in limits {
            let key = LimitKey(scope: limit.scope, period: limit.period)
            let start = self.periodStart(limit.period, now)
            fresh[key] = Account(usd: limit.usd, periodStart: start, spent: self.spentLookup(limit.scope, start))
        }
        self.accounts.withLockedValue { accounts in
            for (key, old) in accounts where fresh[key] != nil {
                fresh[key]!.reserved = old.reserved
            }
            accounts = fresh
        }
    }

    /// Spending per budget scope as the ledger records it (what is still queued
    /// is committed first); nothing without a ledger or when it cannot be read.
    package static func spent(from ledger: UsageLedger?) -> SpentLookup {
        { scope, since in
            guard let ledger else { return 0 }
            ledger.flush()
            let spent: Double?
            switch scope {
            case .global: spent = try? ledger.spent(since: since)
            case .route(let name): spent = try? ledger.spent(since: since, route: name)
            case .client(let name): spent = try? ledger.spent(since: since, client: name)
            }
            return spent ?? 0
        }
    }

    package var isEmpty: Bool { self.accounts.withLockedValue { $0.isEmpty } }

    /// Reserves `amount` against every limit for `route` and `client`.
    package func reserve(_ amount: Double, route: String?, client: String?, now: Date = Date()) -> Admission {
        self.accounts.withLockedValue { accounts -> Admission in
            let keys = accounts.keys.filter { Self.applies($0.scope, route: route, client: client) }
            for key in keys {
                self.roll(&accounts[key]!, key.period, now)
                let account = accounts[key]!
                if account.spent + account.reserved + amount > account.usd + 1e-12 {
                    let resets = self.nextPeriodStart(key.period, account.periodStart)
                    var error = WireError(
                        .budgetExceeded,
                        String(
                            format:
                                "the %@ %@ budget of $%.2f is used up ($%.4f spent, $%.4f reserved by running requests; this request may cost up to $%.4f); it resets at %@",
                            key.scope.description, key.period == .day ? "daily" : "monthly", account.usd, account.spent, account.reserved, amount,
                            Self.format(resets)
                        ),
                        retryable: false
                    )
                    error.resetsAt = Self.format(resets)
                    return .exceeded(error)
                }
            }
            for key in keys { accounts[key]!.reserved += amount }
            return .granted(Reservation(amount: amount, keys: keys))
        }
    }

    /// Replaces the reservation with the real cost (`nil`: unpriced, counts as 0).
    package func settle(_ reservation: Reservation, actual: Double?, now: Date = Date()) {
        self.accounts.withLockedValue { accounts in
            for key in reservation.keys where accounts[key] != nil {
                self.roll(&accounts[key]!, key.period, now)
                accounts[key]!.reserved = max(0, accounts[key]!.reserved - reservation.amount)
                accounts[key]!.spent += actual ?? 0
            }
        }
    }

    /// What is left of each budget, for `status`.
    package func snapshot(now: Date = Date()) -> [BudgetStatus] {
        self.accounts.withLockedValue { accounts in
            accounts.keys.sorted { ($0.scope.description, $0.period.rawValue) < ($1.scope.description, $1.period.rawValue) }.map { key in
                self.roll(&accounts[key]!, key.period, now)
                let account = accounts[key]!
                return BudgetStatus(
                    scope: key.scope.description,
                    period: key.period.rawValue,
                    limitUSD: account.usd,
                    spentUSD: CostCalculator.rounded(account.spent),
                    reservedUSD: CostCalculator.rounded(account.reserved),
                    resetsAt: Self.format(self.nextPeriodStart(key.period, account.periodStart))
                )
            }
        }
    }

    static func applies(_ scope: BudgetConfig.Scope, route: String?, client: String?) -> Bool {
        switch scope {
        case .global: return true
        case .route(let name): return name == route
        case .client(let name): return name == client
        }
    }

    /// A new day or month starts from zero.
    private func roll(_ account: inout Account, _ period: BudgetConfig.Period, _ now: Date) {
        let start = self.periodStart(period, now)
        if start > account.periodStart {
            account.periodStart = start
            account.spent = 0
        }
    }

    func periodStart(_ period: BudgetConfig.Period, _ now: Date) -> Date {
        switch period {
        case .day: return self.calendar.startOfDay(for: now)
        case .month: return self.calendar.date(from: self.calendar.dateComponents([.year, .month], from: now))!
        }
    }

    func nextPeriodStart(_ period: BudgetConfig.Period, _ start: Date) -> Date {
        self.calendar.date(byAdding: period == .day ? .day : .month, value: 1, to: start)!
    }

    static func format(_ date: Date) -> String {
        var style = Date.ISO8601FormatStyle(timeZone: TimeZone.current)
        style = style.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeZone(separator: .colon)
        return date.formatted(style)
    }
}
