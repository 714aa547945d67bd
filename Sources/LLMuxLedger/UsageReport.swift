package import Foundation

/// Ledger entries summed by day, model, provider, route, client or kind (`llmux usage`).
package struct UsageReport: Sendable, Hashable {
    package enum Grouping: String, Sendable, CaseIterable {
        case day, model, provider, route, client, kind
    }

    package struct Row: Sendable, Hashable {
        package var key: String
        package var requests = 0
        package var inputTokens = 0
        package var outputTokens = 0
        package var cachedTokens = 0
        package var cacheWriteTokens = 0
        package var reasoningTokens = 0
        /// Priced requests' cost, estimated ones included.
        package var costUSD: Double = 0
        /// The part of `costUSD` computed from estimated token counts.
        package var estimatedCostUSD: Double = 0
        /// Requests whose model has no price (not in `costUSD`).
        package var unpricedRequests = 0

        package init(key: String) {
            self.key = key
        }

        mutating func add(_ entry: LedgerEntry) {
            self.requests += 1
            self.inputTokens += entry.inputTokens
            self.outputTokens += entry.outputTokens
            self.cachedTokens += entry.cachedTokens
            self.cacheWriteTokens += entry.cacheWriteTokens
            self.reasoningTokens += entry.reasoningTokens
            if let cost = entry.costUSD {
                self.costUSD += cost
                if entry.estimated { self.estimatedCostUSD += cost }
            } else {
                self.unpricedRequests += 1
            }
        }
    }

    package var rows: [Row]
    package var total: Row

    package init(entries: [LedgerEntry], by grouping: Grouping, calendar: Calendar = .current) {
        var rows: [String: Row] = [:]
        var total = Row(key: "total")
        for entry in entries {
            let key: String
            switch grouping {
            case .day:
                let parts = calendar.dateComponents([.year, .month, .day], from: entry.startedAt)
                key = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            case .model: key = "\(entry.provider)/\(entry.model)"
            case .provider: key = entry.provider
            case .route: key = entry.route ?? "-"
            case .client: key = entry.client ?? "-"
            case .kind: key = entry.kind
            }
            rows[key, default: Row(key: key)].add(entry)
            total.add(entry)
        }
        self.rows = rows.values.sorted { $0.key < $1.key }
        self.total = total
    }

    /// `7d`, `12h`, `30m`, or a date `2026-11-01` (local midnight).
    package static func parseSince(_ text: String, now: Date = Date(), calendar: Calendar = .current) -> Date? {
        if let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 {
            switch unit {
            case "d": return now.addingTimeInterval(-amount * 86_400)
            case "h": return now.addingTimeInterval(-amount * 3_600)
            case "m": return now.addingTimeInterval(-amount * 60)
            default: break
            }
        }
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { return nil }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }
}
