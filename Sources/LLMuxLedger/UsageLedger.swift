package import Foundation
import GRDB
package import Logging
import NIOConcurrencyHelpers

/// The durable record of every request: SQLite through GRDB, in WAL mode,
/// at `$XDG_STATE_HOME/llmux/ledger.sqlite`.
///
/// Writes stay off the streaming path: `record` only queues the entry; the
/// writer task (`run`) commits queued entries in one transaction at most
/// `flushInterval` after the first of them arrived (250 ms), so a request is
/// on disk well within 1 s of its terminal frame. SQLite's WAL makes every
/// commit atomic: a `kill -9` loses at most the entries still queued.
package final class UsageLedger: Sendable {
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    private let pool: DatabasePool
    /// Entries waiting for the writer, the writer waiting for entries, and whether it was told to
    /// stop: one lock, so that no entry and no stop can slip between a check and the wait.
    private struct Queue {
        var entries: [LedgerEntry] = []
        var writer: CheckedContinuation<Void, Never>?
        var stopping = false
    }

    private let queue = NIOLockedValueBox(Queue())
    private let flushInterval: Duration
    private let logger: Logger

    /// `$XDG_STATE_HOME/llmux/ledger.sqlite`, or `~/.local/state/llmux/ledger.sqlite`.
    package static func defaultPath(environment: [String: String]) -> String? {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/llmux/ledger.sqlite" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.local/state/llmux/ledger.sqlite" }
        return nil
    }

    /// Opens (creating and migrating as needed) the ledger at `path`.
    /// `readOnly` opens an existing ledger for reports without writing to it.
    package init(path: String, readOnly: Bool = false, flushInterval: Duration = .milliseconds(250), logger: Logger) throws(Failure) {
        self.flushInterval = flushInterval
        self.logger = logger
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.label = "llmux-ledger"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL: a commit survives a crash of llmuxd (not always a power cut).
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        }
        do {
            if !readOnly {
                let directory = (path as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } else if !FileManager.default.fileExists(atPath: path) {
                throw Failure(description: "no ledger at \(path) yet: llmuxd creates it with its first request")
            }
            self.pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.migrator.migrate(self.pool) }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot open the ledger at \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: requests and attempts") { db in
            try db.create(table: "requests") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("request_id", .text).notNull()
                t.column("started_at", .double).notNull()
                t.column("ended_at", .double).notNull()
                t.column("client", .text)
                t.column("peer_pid", .integer)
                t.column("peer_uid", .integer)
                t.column("route", .text)
                t.column("provider", .text).notNull()
                t.column("model", .text).notNull()
                t.column("input_tokens", .integer).notNull()
                t.column("output_tokens", .integer).notNull()
                t.column("cached_tokens", .integer).notNull()
                t.column("reasoning_tokens", .integer).notNull()
                t.column("cost_usd", .double)
                t.column("estimated", .boolean).notNull()
                t.column("outcome", .text).notNull()
                t.column("ttft_ms", .integer)
                t.column("duration_ms", .integer).notNull()
            }
            try db.create(index: "requests_started_at", on: "requests", columns: ["started_at"])
            try db.create(table: "attempts") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("request", inTable: "requests", onDelete: .cascade).notNull()
                t.column("ordinal", .integer).notNull()
                t.column("target", .text).notNull()
                t.column("outcome", .text).notNull()
                t.column("http_status", .integer)
                t.column("ms", .integer).notNull()
            }
        }
        // Cache writes bill apart from plain input; rows written before count 0 of them.
        migrator.registerMigration("v2: cache-write tokens") { db in
            try db.alter(table: "requests") { t in
                t.add(column: "cache_write_tokens", .integer).notNull().defaults(to: 0)
            }
        }
        // Requests of every kind are recorded; rows written before were all chats.
        migrator.registerMigration("v3: request kind") { db in
            try db.alter(table: "requests") { t in
                t.add(column: "kind", .text).notNull().defaults(to: "chat")
            }
        }
        return migrator
    }

    // MARK: - Writing

    /// Queues `entry`; the writer commits it within `flushInterval`.
    package func record(_ entry: LedgerEntry) {
        let writer = self.queue.withLockedValue { queue in
            queue.entries.append(entry)
            return queue.writer.take()
        }
        writer?.resume()
    }

    /// Commits queued entries until cancelled, then commits what is left.
    package func run() async {
        while !Task.isCancelled {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.queue.withLockedValue { queue in
                        if !queue.entries.isEmpty || queue.stopping { return true }
                        queue.writer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                self.queue.withLockedValue { queue in
                    queue.stopping = true
                    return queue.writer.take()
                }?.resume()
            }
            try? await Task.sleep(for: self.flushInterval)
            self.flush()
        }
        self.flush()
    }

    /// Commits every queued entry now, in one transaction.
    package func flush() {
        let batch = self.queue.withLockedValue { queue -> [LedgerEntry] in
            defer { queue.entries.removeAll(keepingCapacity: true) }
            return queue.entries
        }
        guard !batch.isEmpty else { return }
        do {
            try self.pool.write { db in
                for entry in batch { try Self.insert(entry, into: db) }
            }
        } catch {
            // Keep them for the next flush rather than lose them.
            self.queue.withLockedValue { $0.entries.insert(contentsOf: batch, at: 0) }
            self.logger.error("cannot write to the usage ledger", metadata: ["error": "\(error)", "queued": "\(batch.count)"])
        }
    }

    private static func insert(_ entry: LedgerEntry, into db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO requests (request_id, started_at, ended_at, client, peer_pid, peer_uid, route, provider, model,
                    input_tokens, output_tokens, cached_tokens, reasoning_tokens, cache_write_tokens, kind, cost_usd, estimated, outcome,
                    ttft_ms, duration_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                entry.requestID, entry.startedAt.timeIntervalSince1970, entry.endedAt.timeIntervalSince1970, entry.client,
                entry.peerPID, entry.peerUID, entry.route, entry.provider, entry.model,
                entry.inputTokens, entry.outputTokens, entry.cachedTokens, entry.reasoningTokens, entry.cacheWriteTokens, entry.kind, entry.costUSD,
                entry.estimated, entry.outcome, entry.ttftMs, entry.durationMs,
            ]
        )
        let row = db.lastInsertedRowID
        for (ordinal, attempt) in entry.attempts.enumerated() {
            try db.execute(
                sql: "INSERT INTO attempts (requestId, ordinal, target, outcome, http_status, ms) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [row, ordinal, attempt.target, attempt.outcome, attempt.httpStatus, attempt.ms]
            )
        }
    }

    // MARK: - Reading

    /// Dollars spent by requests started at or after `since`, optionally only
    /// of one route or one client. Unpriced requests count as 0.
    package func spent(since: Date, route: String? = nil, client: String? = nil) throws(Failure) -> Double {
        var sql = "SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE started_at >= ?"
        var arguments: StatementArguments = [since.timeIntervalSince1970]
        if let route {
            sql += " AND route = ?"
            arguments += [route]
        }
        if let client {
            sql += " AND client = ?"
            arguments += [client]
        }
        do {
            return try self.pool.read { db in try Double.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
        } catch {
            throw Failure(description: "cannot read the usage ledger: \(error)")
        }
    }

    /// Every entry started at or after `since`, oldest first (attempts not loaded).
    package func entries(since: Date) throws(Failure) -> [LedgerEntry] {
        do {
            return try self.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM requests WHERE started_at >= ? ORDER BY started_at, id", arguments: [since.timeIntervalSince1970])
                    .map { row in
                        LedgerEntry(
                            requestID: row["request_id"],
                            startedAt: Date(timeIntervalSince1970: row["started_at"]),
                            endedAt: Date(timeIntervalSince1970: row["ended_at"]),
                            client: row["client"],
                            peerPID: row["peer_pid"],
                            peerUID: row["peer_uid"],
                            route: row["route"],
                            provider: row["provider"],
                            model: row["model"],
                            inputTokens: row["input_tokens"],
                            outputTokens: row["output_tokens"],
                            cachedTokens: row["cached_tokens"],
                            reasoningTokens: row["reasoning_tokens"],
                            // A ledger that llmuxd has not migrated yet (read-only here) has no such column.
                            cacheWriteTokens: (row["cache_write_tokens"] as Int?) ?? 0,
                            kind: (row["kind"] as String?) ?? "chat",
                            costUSD: row["cost_usd"],
                            estimated: row["estimated"],
                            outcome: row["outcome"],
                            ttftMs: row["ttft_ms"],
                            durationMs: row["duration_ms"],
                            attempts: []
                        )
                    }
            }
        } catch {
            throw Failure(description: "cannot read the usage ledger: \(error)")
        }
    }

    /// `PRAGMA integrity_check`: `ok` for a sound file.
    package func integrityCheck() throws(Failure) -> String {
        do {
            return try self.pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
        } catch {
            throw Failure(description: "cannot check the ledger: \(error)")
        }
    }

    /// How many attempts are stored for request `requestID` (its last row).
    package func attemptCount(of requestID: String) throws(Failure) -> Int {
        do {
            return try self.pool.read { db in
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM attempts WHERE requestId = (SELECT MAX(id) FROM requests WHERE request_id = ?)",
                    arguments: [requestID]
                ) ?? 0
            }
        } catch {
            throw Failure(description: "cannot read the usage ledger: \(error)")
        }
    }
}
