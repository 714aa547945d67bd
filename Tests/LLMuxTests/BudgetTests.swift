import Foundation
import LLMuxClient
import LLMuxConfig
import LLMuxCost
import LLMuxLedger
import LLMuxMockUpstream
import LLMuxWire
import Logging
import NIOCore
import NIOConcurrencyHelpers
import Testing

@Suite("Budgets")
struct BudgetTests {
    /// $1 per output token... per thousand: output at $1000 per million tokens, input free.
    static let price = PriceOverride(inputPerMillion: 0, outputPerMillion: 1000)

    @Test func reservationsSettleAndPeriodsRoll() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        let noon = try #require(calendar.date(from: DateComponents(year: 2026, month: 11, day: 25, hour: 12)))
        let seeded = NIOLockedValueBox<[String]>([])
        let guardian = BudgetGuard(
            limits: [BudgetConfig.Limit(scope: .global, period: .day, usd: 1.0), BudgetConfig.Limit(scope: .route("smart"), period: .month, usd: 5.0)],
            calendar: calendar,
            now: noon
        ) { scope, since in
            seeded.withLockedValue { $0.append("\(scope)@\(Int(since.timeIntervalSince1970))") }
            return scope == .global ? 0.5 : 4.0  // what the ledger already holds
        }
        #expect(seeded.withLockedValue { $0.count } == 2, "both budgets were seeded from the ledger")
        // 0.5 spent of 1.0: a 0.4 reservation fits, a second one does not.
        guard case .granted(let first) = guardian.reserve(0.4, route: nil, client: nil, now: noon) else {
            Issue.record("refused")
            return
        }
        guard case .exceeded(let error) = guardian.reserve(0.4, route: nil, client: nil, now: noon) else {
            Issue.record("admitted over budget")
            return
        }
        #expect(error.code == .budgetExceeded)
        #expect(!error.retryable)
        #expect(error.resetsAt == "2026-11-26T00:00:00Z")
        // Every budget that applies must have room: 0.2 fits the route's month (4.0 of 5.0)
        // but not the day (0.9 of 1.0 spent or reserved).
        guard case .exceeded(let global) = guardian.reserve(0.2, route: "smart", client: nil, now: noon) else {
            Issue.record("the global budget should refuse")
            return
        }
        #expect(global.message.contains("global daily budget"))
        // Settling at the real cost frees the rest of the reservation.
        guardian.settle(first, actual: 0.1, now: noon)
        let day = try #require(guardian.snapshot(now: noon).first { $0.scope == "global" })
        #expect(day.spentUSD == 0.6)
        #expect(day.reservedUSD == 0)
        #expect(abs(day.leftUSD - 0.4) < 1e-9)
        // A new day starts from zero; the month does not.
        let tomorrow = noon.addingTimeInterval(86_400)
        let next = guardian.snapshot(now: tomorrow)
        #expect(next.first { $0.scope == "global" }?.spentUSD == 0)
        #expect(next.first { $0.scope == "route:smart" }?.spentUSD == 4.0)
        #expect(next.first { $0.scope == "route:smart" }?.resetsAt == "2026-12-01T00:00:00Z")
    }

    func chat(_ connection: LLMuxConnection, _ id: String, model: String = "mock/default", maxTokens: Int = 10) async throws {
        try await connection.send(line: chatLine(id, model: model, extra: #","max_tokens":\#(maxTokens)"#))
    }

    @Test func fiftyConcurrentRequestsOvershootByAtMostOneReservation() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.prices["mock/default"] = Self.price
            // Each request reserves 10 tokens x $0.001 = $0.01 and really costs 3 x $0.001.
            config.budgets = BudgetConfig(limits: [BudgetConfig.Limit(scope: .global, period: .day, usd: 0.05)])
        }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["a", "b", "c"], intervalMs: 100))
            let ids = (0..<50).map { "b\($0)" }
            let log = try await daemon.connect { connection in
                // Almost spent: one request first ($0.003), then 50 at once.
                try await chat(connection, "warmup")
                _ = try await FrameLog.read(from: connection, until: ["warmup"])
                var batch = ByteBuffer()
                for id in ids { batch.writeString(chatLine(id, extra: #","max_tokens":10"#) + "\n") }
                try await connection.sendRaw(batch)
                return try await FrameLog.read(from: connection, until: Set(ids))
            }
            var spent = 0.003
            var refused = 0
            for id in ids {
                switch log.terminal(id) {
                case .done(let done)?: spent += done.cost?.usd ?? 0
                case .error(_, let error)? where error.code == .budgetExceeded:
                    refused += 1
                    #expect(error.resetsAt != nil)
                    #expect(log.frames(id).count == 1, "a refused request is rejected: one error frame, no start")
                default: Issue.record("\(id): \(String(describing: log.terminal(id)))")
                }
            }
            #expect(refused >= 40, "\(refused) refused")
            #expect(spent <= 0.05 + 0.01 + 1e-9, "spent \(spent)")
            // status shows what is left.
            let status = try await daemon.connect { connection -> DaemonStatus? in
                try await connection.send(.status(id: "s"))
                for try await received in connection.frames { if case .status(_, let status) = received.frame { return status } }
                return nil
            }
            let budget = try #require(status?.budgets.first)
            #expect(budget.scope == "global" && budget.period == "day")
            #expect(abs(budget.spentUSD - spent) < 1e-9)
            #expect(budget.reservedUSD == 0)
        }
    }

    @Test func overBudgetRoutesDowngradeAndSaySo() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.prices["mock/expensive"] = Self.price
            config.prices["mock/cheap"] = PriceOverride(inputPerMillion: 0, outputPerMillion: 0)
            var smart = RouteConfig(name: "smart", targets: [RouteTarget(provider: "mock", upstreamModel: "expensive")])
            smart.downgradeRoute = "budget"
            config.routes["smart"] = smart
            config.routes["budget"] = RouteConfig(name: "budget", targets: [RouteTarget(provider: "mock", upstreamModel: "cheap")])
            config.budgets = BudgetConfig(limits: [BudgetConfig.Limit(scope: .route("smart"), period: .day, usd: 0.005)])
        }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["x"]))
            let log = try await daemon.connect { connection in
                try await chat(connection, "d1", model: "smart")
                return try await FrameLog.read(from: connection, until: ["d1"])
            }
            guard case .done(let done)? = log.terminal("d1") else {
                Issue.record("expected done: \(log.all)")
                return
            }
            #expect(done.route == "budget")
            #expect(done.downgradedFrom == "smart")
            #expect(done.model == "cheap")
            #expect(daemon.mock.requests.allSatisfy { $0.body?["model"] == "cheap" })
        }
    }

    @Test func belowOneRequestsWorthTheNextRequestIsRefused() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.prices["mock/default"] = Self.price
            config.budgets = BudgetConfig(limits: [BudgetConfig.Limit(scope: .client("script"), period: .day, usd: 0.001)])
        }) { daemon in
            try await daemon.connect { connection in
                try await connection.send(.hello(ClientHello(client: "script")))
                try await chat(connection, "r1")
                let log = try await FrameLog.read(from: connection, until: ["r1"])
                guard case .error(_, let error)? = log.terminal("r1") else {
                    Issue.record("expected budget_exceeded")
                    return
                }
                #expect(error.code == .budgetExceeded)
                #expect(error.message.contains("client:script daily budget"))
                let resets = try #require(error.resetsAt)
                #expect(resets.count >= 20 && resets.contains("T00:00:00"), "\(resets)")
            }
            // Another client is not limited by that budget.
            try await daemon.connect { connection in
                try await connection.send(.hello(ClientHello(client: "editor")))
                try await chat(connection, "r2")
                let log = try await FrameLog.read(from: connection, until: ["r2"])
                if case .done = log.terminal("r2") {} else { Issue.record("another client was refused") }
            }
            #expect(daemon.mock.requests.count == 1)
        }
    }
}

@Suite("llmux usage")
struct UsageCommandTests {
    @Test(.tags(.processes), .fullTierOnly) func usageByModelMatchesTokensTimesPriceAndTheDoneFrames() async throws {
        try await TestDaemon.with(configure: { config, _ in
            config.prices["mock/default"] = PriceOverride(inputPerMillion: 3, outputPerMillion: 15)
        }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["alpha ", "beta ", "gamma"]))
            var doneCost = 0.0
            var tokens = (input: 0, output: 0)
            try await daemon.connect { connection in
                for index in 0..<3 {
                    try await connection.send(line: chatLine("u\(index)"))
                    let log = try await FrameLog.read(from: connection, until: ["u\(index)"])
                    guard case .done(let done)? = log.terminal("u\(index)") else {
                        Issue.record("expected done")
                        return
                    }
                    doneCost += done.cost?.usd ?? 0
                    tokens.input += done.usage?.inputTokens ?? 0
                    tokens.output += done.usage?.outputTokens ?? 0
                }
            }
            var environment = cleanEnvironment()
            environment["XDG_STATE_HOME"] = daemon.directory + "/state"
            environment["XDG_CONFIG_HOME"] = daemon.directory + "/config"
            var report: JSONValue?
            for _ in 0..<40 {
                let result = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "model", "--json"], environment: environment)
                report = try? JSONValue.parse(result.stdout)
                if report?["total"]?["requests"]?.intValue == 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let row = try #require(report?["rows"]?.arrayValue?.first)
            #expect(row["key"] == "mock/default")
            #expect(row["requests"]?.intValue == 3)
            #expect(row["input_tokens"]?.intValue == Int64(tokens.input))
            #expect(row["output_tokens"]?.intValue == Int64(tokens.output))
            let expected = (Double(tokens.input) * 3 + Double(tokens.output) * 15) / 1_000_000
            let cost = try #require(row["cost_usd"]?.doubleValue)
            #expect(abs(cost - expected) < 1e-9, "\(cost) vs \(expected)")
            #expect(abs(cost - doneCost) < 1e-9, "the ledger and the done frames disagree")
            #expect(row["estimated_cost_usd"]?.doubleValue == 0)

            // Plain output when piped, CSV on request; bad options are usage errors.
            let plain = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "provider"], environment: environment)
            #expect(plain.status == 0)
            #expect(plain.stdout.contains("provider\trequests\tinput\toutput"), "\(plain.stdout)")
            #expect(plain.stdout.contains("mock\t3\t"), "\(plain.stdout)")
            let csv = try await ChildProcess.run(Executables.llmux, ["usage", "--csv", "--since", "1d"], environment: environment)
            #expect(csv.stdout.hasPrefix("day,requests,input_tokens"), "\(csv.stdout)")
            let bad = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "week"], environment: environment)
            #expect(bad.status == 2)
        }
    }

    @Test func groupingAndPeriods() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        func entry(_ day: Int, _ model: String, cost: Double?, estimated: Bool = false) -> LedgerEntry {
            let start = calendar.date(from: DateComponents(year: 2026, month: 11, day: day, hour: 10))!
            return LedgerEntry(
                requestID: "r", startedAt: start, endedAt: start, client: "c", peerPID: nil, peerUID: nil, route: nil,
                provider: "p", model: model, inputTokens: 10, outputTokens: 5, cachedTokens: 2, reasoningTokens: 1,
                costUSD: cost, estimated: estimated, outcome: "stop", ttftMs: nil, durationMs: 1, attempts: []
            )
        }
        let entries = [entry(24, "a", cost: 0.5), entry(24, "b", cost: nil), entry(25, "a", cost: 0.25, estimated: true)]
        let byDay = UsageReport(entries: entries, by: .day, calendar: calendar)
        #expect(byDay.rows.map(\.key) == ["2026-11-24", "2026-11-25"])
        #expect(byDay.rows[0].requests == 2 && byDay.rows[0].unpricedRequests == 1)
        #expect(byDay.total.costUSD == 0.75 && byDay.total.estimatedCostUSD == 0.25)
        let byModel = UsageReport(entries: entries, by: .model, calendar: calendar)
        #expect(byModel.rows.map(\.key) == ["p/a", "p/b"])
        #expect(byModel.rows[0].inputTokens == 20)
        let now = calendar.date(from: DateComponents(year: 2026, month: 11, day: 25, hour: 12))!
        #expect(UsageReport.parseSince("7d", now: now) == now.addingTimeInterval(-7 * 86_400))
        #expect(UsageReport.parseSince("2026-11-01", calendar: calendar) == calendar.date(from: DateComponents(year: 2026, month: 11, day: 1)))
        #expect(UsageReport.parseSince("yesterday") == nil)
    }
}
