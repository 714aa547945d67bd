import ArgumentParser
import Foundation
import LLMuxConfig
import LLMuxCost
import LLMuxLedger
import LLMuxWire
import Logging

/// `llmux usage`: totals from the ledger, read directly (the daemon may be down).
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show tokens and cost from the usage ledger, and what is left of each budget.",
        discussion: "Reads $XDG_STATE_HOME/llmux/ledger.sqlite directly, so it works while llmuxd is down. Estimated amounts are marked."
    )

    @Option(name: .long, help: "Start of the period: 7d, 12h, 30m, or a date like 2026-11-01.")
    var since = "30d"

    @Option(name: .long, help: "Group by day, model, provider, route, client or kind (chat, embeddings).")
    var by = "day"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .long, help: "Print CSV.")
    var csv = false

    @Option(name: .long, help: "Config file, for the budgets (default: $LLMUX_CONFIG, else $XDG_CONFIG_HOME/llmux/config.toml).")
    var config: String?

    func validate() throws {
        guard UsageReport.Grouping(rawValue: self.by) != nil else {
            throw ValidationError("--by must be one of day, model, provider, route, client, kind")
        }
        guard UsageReport.parseSince(self.since) != nil else {
            throw ValidationError("--since must be like 7d, 12h, 30m or 2026-11-01")
        }
        if self.json && self.csv { throw ValidationError("give --json or --csv, not both") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = UsageLedger.defaultPath(environment: environment) else {
            Output.error("neither XDG_STATE_HOME nor HOME is set: no ledger to read")
            throw ExitCode(ExitStatus.config)
        }
        let since = UsageReport.parseSince(self.since)!
        let grouping = UsageReport.Grouping(rawValue: self.by)!
        // No ledger yet (llmuxd has served no request): an empty report, not an error, so that
        // a script reading --json or --csv gets the same shape as on any other day.
        let ledger: UsageLedger?
        let report: UsageReport
        if FileManager.default.fileExists(atPath: path) {
            do {
                let opened = try UsageLedger(path: path, readOnly: true, logger: Logger(label: "llmux"))
                ledger = opened
                report = UsageReport(entries: try opened.entries(since: since), by: grouping)
            } catch {
                Output.error("\(error)")
                throw ExitCode(ExitStatus.failure)
            }
        } else {
            ledger = nil
            report = UsageReport(entries: [], by: grouping)
        }
        let budgets = self.budgets(ledger: ledger, environment: environment)

        if self.json {
            Output.line(Self.json(report, since: since, by: grouping, budgets: budgets))
        } else if self.csv {
            Output.line(
                "\(grouping.rawValue),requests,input_tokens,output_tokens,cached_tokens,reasoning_tokens,cost_usd,estimated_cost_usd,unpriced_requests,cache_write_tokens"
            )
            for row in report.rows + [report.total] {
                Output.line(
                    [
                        Self.csvField(row.key), "\(row.requests)", "\(row.inputTokens)", "\(row.outputTokens)", "\(row.cachedTokens)",
                        "\(row.reasoningTokens)", Self.money(row.costUSD), Self.money(row.estimatedCostUSD), "\(row.unpricedRequests)",
                        "\(row.cacheWriteTokens)",
                    ]
                    .joined(separator: ",")
                )
            }
        } else {
            if ledger == nil { Output.line("nothing recorded yet: llmuxd creates the ledger (\(path)) with its first request") }
            Self.table(report, grouping: grouping, budgets: budgets, since: since, aligned: isatty(STDOUT_FILENO) == 1)
        }
    }

    /// What is left of each budget in the config, from the ledger.
    func budgets(ledger: UsageLedger?, environment: [String: String]) -> [BudgetStatus] {
        guard let config = try? ConfigLoader(environment: environment).load(explicitPath: self.config), !config.budgets.limits.isEmpty else {
            return []
        }
        return BudgetGuard(limits: config.budgets.limits, spent: BudgetGuard.spent(from: ledger)).snapshot()
    }

    static func money(_ usd: Double) -> String { String(format: "%.6f", usd) }

    static func csvField(_ text: String) -> String {
        text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func table(_ report: UsageReport, grouping: UsageReport.Grouping, budgets: [BudgetStatus], since: Date, aligned: Bool) {
        let header = [grouping.rawValue, "requests", "input", "output", "cached", "cache write", "reasoning", "cost USD"]
        var rows = report.rows.map(Self.cells)
        rows.append(Self.cells(report.total))
        if aligned {
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    index == 0
                        ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[index] - cell.count) + cell
                }.joined(separator: "  ")
            }
            Output.line(line(header))
            for (index, row) in rows.enumerated() {
                if index == rows.count - 1 { Output.line(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))) }
                Output.line(line(row))
            }
        } else {
            Output.line(header.joined(separator: "\t"))
            for row in rows { Output.line(row.joined(separator: "\t")) }
        }
        if report.total.estimatedCostUSD > 0 {
            Output.line("~ marks costs that include estimated token counts (\(Self.money(report.total.estimatedCostUSD)) USD of the total)")
        }
        if report.total.unpricedRequests > 0 {
            Output.line("\(report.total.unpricedRequests) requests used models without a price and are not in the cost")
        }
        for budget in budgets {
            Output.line(
                String(
                    format: "budget %@ %@: $%.4f left of $%.2f (resets %@)",
                    budget.scope, budget.period == "day" ? "daily" : "monthly", budget.leftUSD, budget.limitUSD, budget.resetsAt
                )
            )
        }
    }

    static func cells(_ row: UsageReport.Row) -> [String] {
        let cost = Self.money(row.costUSD) + (row.estimatedCostUSD > 0 ? " ~" : "")
        return [
            row.key, "\(row.requests)", "\(row.inputTokens)", "\(row.outputTokens)", "\(row.cachedTokens)", "\(row.cacheWriteTokens)", "\(row.reasoningTokens)",
            cost,
        ]
    }

    static func json(_ report: UsageReport, since: Date, by grouping: UsageReport.Grouping, budgets: [BudgetStatus]) -> String {
        func row(_ row: UsageReport.Row) -> JSONValue {
            [
                "key": .string(row.key),
                "requests": .int(Int64(row.requests)),
                "input_tokens": .int(Int64(row.inputTokens)),
                "output_tokens": .int(Int64(row.outputTokens)),
                "cached_tokens": .int(Int64(row.cachedTokens)),
                "cache_write_tokens": .int(Int64(row.cacheWriteTokens)),
                "reasoning_tokens": .int(Int64(row.reasoningTokens)),
                "cost_usd": .double(CostCalculator.rounded(row.costUSD)),
                "estimated_cost_usd": .double(CostCalculator.rounded(row.estimatedCostUSD)),
                "unpriced_requests": .int(Int64(row.unpricedRequests)),
            ]
        }
        let value: JSONValue = [
            "since": .string(since.formatted(.iso8601)),
            "by": .string(grouping.rawValue),
            "rows": .array(report.rows.map(row)),
            "total": row(report.total),
            "budgets": .array(
                budgets.map {
                    [
                        "scope": .string($0.scope), "period": .string($0.period), "limit_usd": .double($0.limitUSD),
                        "spent_usd": .double($0.spentUSD), "left_usd": .double($0.leftUSD), "resets_at": .string($0.resetsAt),
                    ]
                }
            ),
        ]
        return value.jsonString
    }
}
