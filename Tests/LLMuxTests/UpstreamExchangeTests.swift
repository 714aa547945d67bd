import AsyncHTTPClient
import Foundation
import LLMuxMockUpstream
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import LLMuxUpstream

/// One upstream request through async-http-client's delegate API (`UpstreamExchange`): its
/// parts in order, cancellation closing the connection, the read held while the consumer lags.
@Suite("Upstream exchange")
struct UpstreamExchangeTests {
    private static func request(_ mock: MockUpstream) -> UpstreamHTTPRequest {
        var request = UpstreamHTTPRequest(url: UpstreamChatClient.chatCompletionsURL(baseURL: mock.baseURL))
        request.headers.add(name: "content-type", value: "application/json")
        request.body = ByteBuffer(string: #"{"model":"default","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        return request
    }

    private static func withClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Every part until the end: the head's status, the body's bytes, and the last part.
    private static func readAll(_ exchange: UpstreamExchange) async -> (status: UInt?, body: String, last: UpstreamExchange.Part) {
        var status: UInt?
        var body = ByteBuffer()
        var parts = UpstreamExchange.Reader(exchange)
        while true {
            let part = await parts.next()
            switch part {
            case .head(let head): status = head.status.code
            case .body(var bytes): body.writeBuffer(&bytes)
            case .end, .failed: return (status, String(buffer: body), part)
            }
        }
    }

    private static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard haystack.count >= needle.count else { return 0 }
        var count = 0
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { count += 1 }
        }
        return count
    }

    @Test(.timeLimit(.minutes(1))) func theHeadTheBodyAndTheEndArriveInOrder() async throws {
        let mock = try await MockUpstream.start(defaultScript: .counting(5))
        defer { Task { await mock.shutdown() } }
        try await Self.withClient { client in
            let exchange = UpstreamExchange.start(Self.request(mock), on: client, logger: Logger(label: "test"))
            let (status, body, last) = await Self.readAll(exchange)
            #expect(status == 200)
            for index in 0..<5 { #expect(body.contains(String(format: "%08d", index))) }
            #expect(body.contains("data: [DONE]"))
            guard case .end = last else {
                Issue.record("the exchange ended with \(last)")
                return
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func cancellingTheWaitingTaskCancelsTheRequestAndClosesItsConnection() async throws {
        // 200 chunks 50 ms apart: 10 s of stream, cancelled after its first part.
        let mock = try await MockUpstream.start(defaultScript: .counting(200, intervalMs: 50))
        defer { Task { await mock.shutdown() } }
        try await Self.withClient { client in
            let exchange = UpstreamExchange.start(Self.request(mock), on: client, logger: Logger(label: "test"))
            let (headSeen, headContinuation) = AsyncStream.makeStream(of: Void.self)
            let reader = Task {
                var parts: [UpstreamExchange.Part] = []
                var reader = UpstreamExchange.Reader(exchange)
                while true {
                    let part = await reader.next()
                    parts.append(part)
                    if case .head = part { headContinuation.yield() }
                    if part.isLast { return parts }
                }
            }
            for await _ in headSeen { break }
            reader.cancel()
            let parts = await reader.value
            guard case .failed(let error)? = parts.last else {
                Issue.record("the cancelled exchange ended with \(String(describing: parts.last))")
                return
            }
            #expect(error as? HTTPClientError == .cancelled)
            let connection = try #require(mock.requests.last?.connectionID)
            #expect(await mock.waitForClose(ofConnection: connection, timeout: .seconds(10)) != nil)
            // Far fewer than the 200 chunks arrived: the stream was cut, not read to its end.
            #expect(parts.count < 100)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aBodyLargerThanTheHeldBackLimitArrivesWholeToASlowReader() async throws {
        // 40 chunks of 32 KiB (1.3 MB of events) against a 256 KiB limit: the client must stop
        // and resume reading several times; a read held for good would hang this test.
        let mock = try await MockUpstream.start(defaultScript: .counting(40, size: 32 * 1024))
        defer { Task { await mock.shutdown() } }
        try await Self.withClient { client in
            let exchange = UpstreamExchange.start(Self.request(mock), on: client, logger: Logger(label: "test"))
            // Let the body pile up past the limit before reading any of it.
            try await Task.sleep(for: .milliseconds(300))
            let (status, body, last) = await Self.readAll(exchange)
            #expect(status == 200)
            let bytes = Array(body.utf8)
            #expect(bytes.count > 40 * 32 * 1024)
            // The ends of the first, a middle and the last chunk's text (a debug build's
            // String.contains takes minutes for a 32 KiB needle in 1.3 MB), and the end.
            for marker in [#"0000""#, #"0017""#, #"0039""#, "[DONE]"] {
                #expect(Self.occurrences(of: Array(marker.utf8), in: bytes) == 1, "\(marker)")
            }
            guard case .end = last else {
                Issue.record("the exchange ended with \(last)")
                return
            }
        }
    }

    @Test func aURLTheClientCannotSendToFailsAtOnce() async throws {
        try await Self.withClient { client in
            let exchange = UpstreamExchange.start(UpstreamHTTPRequest(url: "not a url"), on: client, logger: Logger(label: "test"))
            var parts = UpstreamExchange.Reader(exchange)
            guard case .failed(let error) = await parts.next() else {
                Issue.record("a bad URL did not fail")
                return
            }
            #expect(error is HTTPClientError)
        }
    }

    @Test func theReadIsHeldPastTheHighWaterMarkAndReleasedWhenTheConsumerTakesThem() throws {
        let loop = EmbeddedEventLoop()
        var buffer = UpstreamExchange.Buffer()
        let chunk = ByteBuffer(repeating: 0x61, count: 64 * 1024)
        var promises = 0
        let make = {
            promises += 1
            return loop.makePromise(of: Void.self)
        }
        // 4 chunks are 256 KiB: at the limit, not past it.
        for _ in 0..<4 {
            let hold = buffer.append(body: chunk, holdWith: make)
            #expect(hold == nil)
        }
        let fifth = buffer.append(body: chunk, holdWith: make)
        let held = try #require(fifth)
        #expect(promises == 1)
        // Held once: more parts queue without a second hold.
        let sixth = buffer.append(body: chunk, holdWith: make)
        #expect(sixth == nil)
        #expect(promises == 1)
        // The consumer takes all 6 at once, in order, with the read to release.
        let (parts, release) = buffer.take()
        #expect(parts.count == 6)
        #expect(parts.allSatisfy { if case .body(let bytes) = $0 { bytes.readableBytes == 64 * 1024 } else { false } })
        let released = try #require(release)
        #expect(buffer.waitingBytes == 0)
        #expect(!buffer.isReady)
        let completed = NIOLockedValueBox(false)
        held.whenSuccess { completed.withLockedValue { $0 = true } }
        released.succeed()
        loop.run()
        #expect(completed.withLockedValue { $0 })
        // Released once: the next take has nothing to release, and a new burst can hold again.
        let next = buffer.append(body: chunk, holdWith: make)
        #expect(next == nil)
        #expect(buffer.take().release == nil)
        try loop.syncShutdownGracefully()
    }

    @Test func anAbandonedExchangeDropsWhatWaitsAndWhatArrivesAndReleasesTheRead() throws {
        let loop = EmbeddedEventLoop()
        var buffer = UpstreamExchange.Buffer()
        let chunk = ByteBuffer(repeating: 0x61, count: 100 * 1024)
        for _ in 0..<2 { _ = buffer.append(body: chunk) { loop.makePromise() } }
        let third = buffer.append(body: chunk) { loop.makePromise() }
        let held = try #require(third)
        let discarded = buffer.discardAll()
        let release = try #require(discarded)
        #expect(!buffer.isReady)
        #expect(buffer.waitingBytes == 0)
        // What arrives after is dropped, and never holds the read.
        let late = buffer.append(body: chunk) { loop.makePromise() }
        #expect(late == nil)
        #expect(!buffer.isReady)
        let completed = NIOLockedValueBox(false)
        held.whenSuccess { completed.withLockedValue { $0 = true } }
        release.succeed()
        loop.run()
        #expect(completed.withLockedValue { $0 })
        // An exchange that had already ended has nothing left to drop.
        var ended = UpstreamExchange.Buffer()
        ended.parts.append(.end)
        let nothing = ended.discardAll()
        #expect(nothing == nil)
        #expect(!ended.discarding)
        try loop.syncShutdownGracefully()
    }
}
