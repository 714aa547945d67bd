import Foundation
import GRDB
import LLMuxClient
import LLMuxConfig
import LLMuxCost
@testable import LLMuxLedger
import LLMuxMockUpstream
import LLMuxUpstream
import LLMuxWire
import Logging
import NIOCore
import Testing

@Suite("Prices and cost arithmetic")
struct PriceTableTests {
    @Test func theBuiltInTableParsesAndIsDated() {
        let table = PriceTable()
        #expect(table.taken.count == 10, "taken must be a date like 2025-06-15")
        #expect(table.price(provider: "openai", model: "gpt-4o") == ModelPrice(inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10))
    }

    @Test func lookupRules() {
        let table = PriceTable(overrides: [
            "local/llama": PriceOverride(inputPerMillion: 0, outputPerMillion: 0),
            "gpt-4o": PriceOverride(inputPerMillion: 3, outputPerMillion: 12),
        ])
        // A dated id uses its undated prefix; the longest prefix wins.
        #expect(table.price(provider: "openai", model: "gpt-4o-mini-2024-07-18")?.inputPerMillion == 0.15)
        #expect(table.price(provider: "openai", model: "gpt-4.1-2025-04-14")?.outputPerMillion == 8)
        // A provider named differently still finds the model in any section.
        #expect(table.price(provider: "my-openai", model: "deepseek-chat")?.outputPerMillion == 1.10)
        // OpenRouter's vendor/model ids.
        #expect(table.price(provider: "openrouter", model: "anthropic/claude-3.5-sonnet")?.outputPerMillion == 15)
        // Overrides: provider/model first, then model.
        #expect(table.price(provider: "local", model: "llama") == ModelPrice(inputPerMillion: 0, outputPerMillion: 0))
        #expect(table.price(provider: "openai", model: "gpt-4o")?.inputPerMillion == 3)
        // No made-up numbers.
        #expect(table.price(provider: "local", model: "qwen2.5-coder") == nil)
        #expect(table.price(provider: "openai", model: "gpt-4o-minimal") == nil, "a prefix must end at a '-'")
    }

    @Test func cachedAndReasoningTokens() {
        let price = ModelPrice(inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10)
        // 600 uncached + 400 cached prompt tokens; 500 completion tokens of which 200 reasoning (billed as output).
        let usage = Usage(inputTokens: 1000, outputTokens: 500, cachedTokens: 400, reasoningTokens: 200)
        #expect(CostCalculator.usd(usage, price) == 0.007)
        // Without a cached price, cached tokens cost the input price.
        #expect(CostCalculator.usd(usage, ModelPrice(inputPerMillion: 2.5, outputPerMillion: 10)) == 0.0075)
        let unknown = CostCalculator.cost(usage, nil)
        #expect(unknown.usd == nil && unknown.priceUnknown)
    }

    @Test func estimatesUseFourBytesPerToken() {
        let request = ChatRequest.userPrompt(id: "e", model: nil, prompt: String(repeating: "a", count: 400))
        let usage = CostCalculator.estimatedUsage(request, outputBytes: 81)
        #expect(usage.estimated)
        #expect(usage.outputTokens == 21)
        let promptBytes = JSONValue.array(request.messages).jsonString.utf8.count
        #expect(usage.inputTokens == (promptBytes + 3) / 4)
    }
}

@Suite("Cost in frames and the usage ledger")
struct LedgerTests {
    static let price = PriceOverride(inputPerMillion: 1, cachedInputPerMillion: 0.5, outputPerMillion: 2)

    func chat(_ daemon: TestDaemon, id: String, model: String = "mock/default") async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(.hello(ClientHello(client: "cost-test")))
            try await connection.send(line: chatLine(id, model: model))
            return try await FrameLog.read(from: connection, until: [id])
        }
    }

    func ledger(_ daemon: TestDaemon) throws -> UsageLedger {
        try UsageLedger(path: daemon.directory + "/state/llmux/ledger.sqlite", readOnly: true, logger: Logger(label: "test"))
    }

    /// Waits up to `limit` for `count` ledger rows.
    func rows(_ daemon: TestDaemon, atLeast count: Int, within limit: Duration = .seconds(1)) async throws -> [LedgerEntry] {
        let deadline = ContinuousClock.now + limit
        var entries: [LedgerEntry] = []
        repeat {
            if FileManager.default.fileExists(atPath: daemon.directory + "/state/llmux/ledger.sqlite") {
                entries = try ledger(daemon).entries(since: .distantPast)
                if entries.count >= count { return entries }
            }
            try await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        return entries
    }

    @Test func doneCarriesTokensTimesPriceAndTheLedgerHasItWithinOneSecond() async throws {
        try await TestDaemon.with(configure: { config, _ in config.prices["mock/default"] = Self.price }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["one", "two", "three"]))
            let log = try await chat(daemon, id: "c1")
            guard case .done(let done)? = log.terminal("c1") else {
                Issue.record("expected done")
                return
            }
            let usage = try #require(done.usage)
            #expect(!usage.estimated)
            #expect(usage.outputTokens == 3)
            let expected = CostCalculator.rounded((Double(usage.inputTokens) * 1 + Double(usage.outputTokens) * 2) / 1_000_000)
            #expect(done.cost == RequestCost(usd: expected, estimated: false))
            let entries = try await rows(daemon, atLeast: 1)
            let entry = try #require(entries.first)
            #expect(entry.requestID == "c1")
            #expect(entry.costUSD == expected)
            #expect(entry.client == "cost-test")
            #expect(entry.peerUID == Int(getuid()))
            #expect(entry.peerPID == Int(getpid()))
            #expect(entry.provider == "mock" && entry.model == "default" && entry.outcome == "stop")
            #expect(entry.inputTokens == usage.inputTokens && entry.outputTokens == 3)
            #expect(try ledger(daemon).attemptCount(of: "c1") == 1)
        }
    }

    @Test func missingUsageIsEstimatedAndFlagged() async throws {
        try await TestDaemon.with(configure: { config, _ in config.prices["mock/default"] = Self.price }) { daemon in
            var script = MockScript(chunks: ["abcdefgh", "ijklmnop"])
            script.sendUsage = false
            daemon.mock.setDefaultScript(script)
            let log = try await chat(daemon, id: "e1")
            guard case .done(let done)? = log.terminal("e1") else {
                Issue.record("expected done")
                return
            }
            #expect(done.usage?.estimated == true)
            #expect(done.usage?.outputTokens == 4, "16 bytes of output at 4 bytes per token")
            #expect(done.cost?.estimated == true)
            #expect((done.cost?.usd ?? 0) > 0)
            let entry = try #require(try await rows(daemon, atLeast: 1).first)
            #expect(entry.estimated)
        }
    }

    @Test func anUnpricedModelHasNullCost() async throws {
        try await TestDaemon.with { daemon in
            let log = try await chat(daemon, id: "u1", model: "mock/some-local-model")
            guard case .done(let done)? = log.terminal("u1") else {
                Issue.record("expected done")
                return
            }
            #expect(done.cost == RequestCost(usd: nil, estimated: false))
            #expect(log.all.contains { $0.jsonLine.contains(#""cost":null,"price_unknown":true"#) })
            let entry = try #require(try await rows(daemon, atLeast: 1).first)
            #expect(entry.costUSD == nil)
        }
    }

    @Test func anErrorAfterPartialOutputCarriesThePartialCost() async throws {
        try await TestDaemon.with(configure: { config, _ in config.prices["mock/default"] = Self.price }) { daemon in
            daemon.mock.setDefaultScript(MockScript(chunks: ["aaaa", "bbbb", "cccc"], fault: .resetAfterChunks(2)))
            let log = try await chat(daemon, id: "p1")
            guard case .error(_, let error)? = log.terminal("p1") else {
                Issue.record("expected an error")
                return
            }
            #expect(error.partial)
            #expect(error.cost?.estimated == true)
            #expect((error.cost?.usd ?? 0) > 0)
            let entry = try #require(try await rows(daemon, atLeast: 1).first)
            #expect(entry.outcome == "upstream_interrupted")
            #expect(entry.outputTokens == 2)
        }
    }
}

@Suite("Ledger crash safety", .tags(.processes), .fullTierOnly)
struct LedgerCrashTests {
    @Test func killMinusNineUnderLoadLosesNoFinishedRequest() async throws {
        try await ExclusiveTestLock.shared.withSharedLock {
            let mock = try await MockUpstream.start()
            defer { Task { await mock.shutdown() } }
            let home = try DaemonProcessTests.DaemonHome()
            try FileManager.default.createDirectory(atPath: home.directory + "/config/llmux", withIntermediateDirectories: true)
            try """
            [providers.mock]
            base_url = "\(mock.baseURL)"
            [prices."mock/mock"]
            input = 1
            output = 2
            """.write(toFile: home.directory + "/config/llmux/config.toml", atomically: true, encoding: .utf8)
            let daemon = try ChildProcess(Executables.llmuxd, [], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket), "\(daemon.stderr)")

            let short = (0..<25).map { "short\($0)" }
            let long = (0..<25).map { "long\($0)" }
            try await LLMuxConnection.withConnection(socketPath: home.socket) { connection in
                var batch = ByteBuffer()
                for id in short { batch.writeString(chatLine(id, model: "mock/mock:chunks=3") + "\n") }
                for id in long { batch.writeString(chatLine(id, model: "mock/mock:chunks=5000,interval_ms=10") + "\n") }
                try await connection.sendRaw(batch)
                let log = try await FrameLog.read(from: connection, until: Set(short))
                for id in short {
                    if case .done = log.terminal(id) {} else { Issue.record("\(id) did not finish") }
                }
                // The ledger's promise: durable within 1 s of the terminal frame.
                try await Task.sleep(for: .milliseconds(1200))
                kill(daemon.pid, SIGKILL)
                _ = await daemon.wait(timeout: .seconds(10))
            }

            let path = home.directory + "/state/llmux/ledger.sqlite"
            let ledger = try UsageLedger(path: path, readOnly: true, logger: Logger(label: "test"))
            #expect(try ledger.integrityCheck() == "ok")
            let recorded = Set(try ledger.entries(since: .distantPast).map(\.requestID))
            #expect(recorded.isSuperset(of: short), "missing after kill -9: \(Set(short).subtracting(recorded).sorted())")

            // The daemon starts again on the same ledger.
            let again = try ChildProcess(Executables.llmuxd, [], environment: home.environment)
            #expect(await waitUntilAnswering(home.socket), "\(again.stderr)")
            kill(again.pid, SIGTERM)
            #expect(await again.wait(timeout: .seconds(10)) == 0)
        }
    }
}

/// Prompt-cache writes: counted apart from plain input and billed at their own price.
@Suite("Cache-write cost")
struct CacheWriteCostTests {
    static let sonnet = ModelPrice(
        inputPerMillion: 3,
        cachedInputPerMillion: 0.30,
        outputPerMillion: 15,
        cacheWritePerMillion: 3.75,
        cacheWrite1hPerMillion: 6
    )

    @Test func anthropicBillsCacheWritesAtTheirPrice() {
        // input 25, cache_creation 100, cache_read 400, output 89 on claude-sonnet-4: Anthropic bills $0.001905.
        let usage = Usage(inputTokens: 525, outputTokens: 89, cachedTokens: 400, cacheWriteTokens: 100)
        #expect(CostCalculator.usd(usage, Self.sonnet) == 0.001905)
        #expect(PriceTable().price(provider: "anthropic", model: "claude-sonnet-4-20250514") == Self.sonnet)
        // The 1-hour cache: 60 of the 100 written tokens at 2x the input price.
        let oneHour = Usage(inputTokens: 525, outputTokens: 89, cachedTokens: 400, cacheWriteTokens: 100, cacheWrite1hTokens: 60)
        #expect(CostCalculator.usd(oneHour, Self.sonnet) == CostCalculator.rounded((25 * 3 + 40 * 3.75 + 60 * 6 + 400 * 0.3 + 89 * 15) / 1_000_000))
        // Without a cache-write price (other providers), writes cost the input price.
        #expect(CostCalculator.usd(usage, ModelPrice(inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15)) == 0.00183)
    }

    @Test func theAnthropicStreamReportsCacheWritesAndTheBreakdown() throws {
        var interpreter = AnthropicStreamInterpreter()
        let start =
            #"{"type":"message_start","message":{"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":400,"cache_creation":{"ephemeral_5m_input_tokens":40,"ephemeral_1h_input_tokens":60},"output_tokens":1}}}"#
        let events = try interpreter.interpret(SSEEvent(event: "message_start", data: start))
        #expect(events == [.usage(Usage(inputTokens: 525, outputTokens: 1, cachedTokens: 400, cacheWriteTokens: 100, cacheWrite1hTokens: 60))])
    }

    @Test func openAICompatibleProvidersReportingCacheWritesAreReadToo() throws {
        var interpreter = OpenAIStreamInterpreter()
        let chunk =
            #"{"choices":[],"usage":{"prompt_tokens":525,"completion_tokens":89,"prompt_tokens_details":{"cached_tokens":400,"cache_write_tokens":100}}}"#
        #expect(
            try interpreter.interpret(SSEEvent(data: chunk)) == [.usage(Usage(inputTokens: 525, outputTokens: 89, cachedTokens: 400, cacheWriteTokens: 100))])
    }

    @Test func configPricesTakeACacheWritePrice() throws {
        let config = try ConfigLoader(environment: [:]).parse(
            """
            [providers.a]
            base_url = "https://x.example"
            [prices."a/m"]
            input = 1
            output = 2
            cache_write = 1.5
            cache_write_1h = 2.5
            """,
            path: "c.toml"
        )
        let price = try #require(PriceTable(overrides: config.prices).price(provider: "a", model: "m"))
        #expect(price.cacheWritePerMillion == 1.5 && price.cacheWrite1hPerMillion == 2.5)
    }

    @Test(.tags(.processes), .fullTierOnly) func cacheWritesReachTheFrameTheLedgerUsageAndMetrics() async throws {
        try await TestDaemon.with(configure: { config, mock in
            config.providers["claude"] = ProviderConfig(
                name: "claude", kind: .anthropic, baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
        }) { daemon in
            var script = MockScript(chunks: ["cached ", "answer"])
            script.cachedTokens = 400
            script.cacheWriteTokens = 100
            script.cacheWrite1hTokens = 60
            daemon.mock.setDefaultScript(script)
            let log = try await daemon.connect { connection in
                try await connection.send(line: chatLine("c", model: "claude/claude-sonnet-4"))
                return try await FrameLog.read(from: connection, until: ["c"])
            }
            guard case .done(let done)? = log.terminal("c"), let usage = done.usage else {
                Issue.record("no done: \(log.all)")
                return
            }
            #expect(usage.cacheWriteTokens == 100)
            #expect(usage.cachedTokens == 400)
            let plain = Double(usage.inputTokens - 500)
            let expected = CostCalculator.rounded((plain * 3 + 400 * 0.3 + 40 * 3.75 + 60 * 6 + Double(usage.outputTokens) * 15) / 1_000_000)
            #expect(done.cost?.usd == expected, "\(String(describing: done.cost)) vs \(expected)")

            var environment = cleanEnvironment()
            environment["XDG_STATE_HOME"] = daemon.directory + "/state"
            environment["XDG_CONFIG_HOME"] = daemon.directory + "/config"
            var row: JSONValue?
            for _ in 0..<40 where row == nil {
                let result = try await ChildProcess.run(Executables.llmux, ["usage", "--by", "model", "--json"], environment: environment)
                row = (try? JSONValue.parse(result.stdout))?["rows"]?.arrayValue?.first
                if row == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(row?["cache_write_tokens"]?.intValue == 100, "\(String(describing: row))")
            #expect(row?["cost_usd"]?.doubleValue == expected)

            let metrics = try await HTTPFrontTests().send(daemon, "/metrics", method: .GET)
            #expect(metrics.body.contains(#"llmux_tokens_total{provider="claude",kind="cache_write"} 100"#), "\(metrics.body)")
        }
    }
}

@Suite("Ledger migrations")
struct LedgerMigrationTests {
    @Test func aLedgerFromBeforeCacheWritesKeepsItsRowsAndCountsZeroWrites() throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let path = directory + "/ledger.sqlite"
        // The file as the previous release left it: the v1 schema and one request.
        let old = try DatabaseQueue(path: path)
        try UsageLedger.migrator.migrate(old, upTo: "v1: requests and attempts")
        try old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO requests (request_id, started_at, ended_at, provider, model, input_tokens, output_tokens,
                        cached_tokens, reasoning_tokens, cost_usd, estimated, outcome, duration_ms)
                    VALUES ('old', ?, ?, 'anthropic', 'claude-sonnet-4', 525, 89, 400, 0, 0.00183, 0, 'stop', 900)
                    """,
                arguments: [Date().timeIntervalSince1970, Date().timeIntervalSince1970]
            )
        }
        try old.close()
        // A reader that has not migrated it yet still reads it.
        let reader = try UsageLedger(path: path, readOnly: true, logger: Logger(label: "t"))
        #expect(try reader.entries(since: .distantPast).map(\.cacheWriteTokens) == [0])
        // llmuxd opening it migrates it, and keeps the old row.
        let ledger = try UsageLedger(path: path, logger: Logger(label: "t"))
        let entries = try ledger.entries(since: .distantPast)
        #expect(entries.map(\.requestID) == ["old"])
        #expect(entries.first?.cacheWriteTokens == 0)
        #expect(entries.first?.costUSD == 0.00183)
    }
}

@Suite("Ledger writer")
struct LedgerWriterTests {
    static func entry(_ id: String) -> LedgerEntry {
        LedgerEntry(
            requestID: id, startedAt: Date(), endedAt: Date(), client: nil, peerPID: nil, peerUID: nil, route: nil,
            provider: "p", model: "m", inputTokens: 1, outputTokens: 1, cachedTokens: 0, reasoningTokens: 0, costUSD: nil,
            estimated: false, outcome: "stop", ttftMs: nil, durationMs: 1, attempts: []
        )
    }

    /// A cancel that comes at any moment of the writer's wait ends it, and what was recorded is
    /// committed: the stop and the entries share the writer's one lock.
    @Test func aCancelAtAnyMomentStopsTheWriterAndNothingIsLost() async throws {
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let ledger = try UsageLedger(path: directory + "/ledger.sqlite", flushInterval: .milliseconds(1), logger: Logger(label: "t"))
        for round in 0..<200 {
            let writer = Task { await ledger.run() }
            if round % 2 == 0 { await Task.yield() }
            ledger.record(Self.entry("r\(round)"))
            writer.cancel()
            await writer.value
        }
        #expect(try ledger.entries(since: .distantPast).count == 200)
    }
}
