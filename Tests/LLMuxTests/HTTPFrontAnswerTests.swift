import AsyncHTTPClient
import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import NIOCore
import NIOHTTP1
import Testing

/// What the HTTP front answers besides chat completions, and how it treats clients that hang
/// up, dawdle or idle: over loopback TCP and the Unix socket, with raw sockets where an HTTP
/// client library would not misbehave on purpose.
@Suite("HTTP front: answers, hang-ups, timeouts")
struct HTTPFrontAnswerTests {
    static func request(_ method: String, _ path: String, token: String?, body: String? = nil, extraHeaders: String = "") -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: llmux\r\n"
        if let token { text += "authorization: Bearer \(token)\r\n" }
        text += extraHeaders
        if let body {
            text += "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
        } else {
            text += "\r\n"
        }
        return text
    }

    static func status(of reply: String) -> Int? {
        reply.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }

    static func body(of reply: String) -> JSONValue? {
        guard let range = reply.range(of: "\r\n\r\n") else { return nil }
        return try? JSONValue.parse(String(reply[range.upperBound...]))
    }

    // MARK: - Hang-ups (defect 1)

    /// A client that closes before the response head: the upstream request must be aborted.
    @Test(arguments: [(tcp: true, stream: true), (tcp: true, stream: false), (tcp: false, stream: true), (tcp: false, stream: false)])
    func aHangUpBeforeTheHeadAbortsTheUpstreamRequest(_ transport: (tcp: Bool, stream: Bool)) async throws {
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            // The first token comes after 20 s: the response head is still held back.
            daemon.mock.setDefaultScript(MockScript(chunks: ["late"], firstTokenDelayMs: 20_000))
            let address = transport.tcp ? try #require(daemon.httpBaseURL) : daemon.httpSocketPath
            let connection = try RawConnection(address)
            let body = HTTPFrontTests.chatBody(stream: transport.stream)
            try connection.send(Self.request("POST", "/v1/chat/completions", token: transport.tcp ? daemon.token : nil, body: body))
            var upstream: Int?
            for _ in 0..<500 where upstream == nil {
                upstream = daemon.mock.requests.last?.connectionID
                if upstream == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let upstreamConnection = try #require(upstream, "the request never reached the mock")
            let hungUp = ContinuousClock.now
            connection.close()
            // The upstream answer would take 20 s; its connection closing within 5 s of the hang-up
            // is the abort. How fast (milliseconds here) is a figure for the bench and the README,
            // not a test bound: a sanitized run on a loaded machine took 1.3 s.
            let closed = await daemon.mock.waitForClose(ofConnection: upstreamConnection, timeout: .seconds(5))
            let after = closed.map { $0 - hungUp }
            #expect(after != nil, "the upstream request kept running after the client hung up (\(transport))")
        }
    }

    // MARK: - Paths, methods, HEAD (defect 8)

    @Test func unknownPathsNeedTheTokenFirstAndThenGetAJSON404() async throws {
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            let base = try #require(daemon.httpBaseURL)
            let anonymous = try RawConnection(base)
            try anonymous.send(Self.request("GET", "/admin", token: nil))
            let refused = await anonymous.read(until: "}}", timeout: .seconds(5))
            #expect(Self.status(of: refused) == 401, "an unauthenticated client learned whether /admin exists: \(refused)")

            let known = try RawConnection(base)
            try known.send(Self.request("GET", "/admin", token: daemon.token))
            let missing = await known.read(until: "}}", timeout: .seconds(5))
            #expect(Self.status(of: missing) == 404)
            #expect(missing.lowercased().contains("content-type: application/json"))
            #expect(Self.body(of: missing)?["error"]?["code"] == "not_found", "\(missing)")
        }
    }

    @Test func aKnownPathWithAnotherMethodIs405WithAllow() async throws {
        try await TestDaemon.with { daemon in
            let connection = try RawConnection(daemon.httpSocketPath)
            try connection.send(Self.request("GET", "/v1/chat/completions", token: nil))
            let reply = await connection.read(until: "}}", timeout: .seconds(5))
            #expect(Self.status(of: reply) == 405, "\(reply)")
            #expect(reply.lowercased().contains("allow: post"), "\(reply)")
            #expect(Self.body(of: reply)?["error"]?["code"] == "method_not_allowed")
        }
    }

    @Test func headAndModelByIDAreServed() async throws {
        try await TestDaemon.with { daemon in
            for path in ["/", "/health"] {
                let connection = try RawConnection(daemon.httpSocketPath)
                try connection.send(Self.request("HEAD", path, token: nil, extraHeaders: "connection: close\r\n"))
                let reply = await connection.readUntilClosed(timeout: .seconds(5))
                #expect(Self.status(of: reply.text) == 200, "HEAD \(path): \(reply.text)")
                #expect(reply.text.hasSuffix("\r\n\r\n"), "HEAD \(path) sent a body: \(reply.text)")
            }
            let model = try await HTTPFrontTests().send(daemon, "/v1/models/mock/default", method: .GET)
            #expect(model.status == 200, "\(model.body)")
            #expect(model.json?["id"] == "mock/default")
            #expect(model.json?["object"] == "model")
            let missing = try await HTTPFrontTests().send(daemon, "/v1/models/no/such-model", method: .GET)
            #expect(missing.status == 404)
            #expect(missing.json?["error"]?["code"] == "model_not_found")
        }
    }

    // MARK: - The bearer scheme (defect 9)

    @Test func theBearerSchemeIsCaseInsensitiveAndOtherSchemesAreNamed() async throws {
        try await TestDaemon.with(tcpHTTP: true) { daemon in
            let base = try #require(daemon.httpBaseURL)
            let token = try #require(daemon.token)
            for header in ["bearer \(token)", "BEARER  \(token)", "Bearer \(token) "] {
                let connection = try RawConnection(base)
                try connection.send(Self.request("GET", "/v1/models", token: nil, extraHeaders: "authorization: \(header)\r\n"))
                let reply = await connection.read(until: "]}", timeout: .seconds(5))
                #expect(Self.status(of: reply) == 200, "'\(header)': \(reply)")
            }
            let basic = try RawConnection(base)
            try basic.send(Self.request("GET", "/v1/models", token: nil, extraHeaders: "authorization: Basic dXNlcjpwYXNz\r\n"))
            let reply = await basic.read(until: "}}", timeout: .seconds(5))
            #expect(Self.status(of: reply) == 401)
            let message = Self.body(of: reply)?["error"]?["message"]?.stringValue ?? ""
            #expect(!message.contains("wrong bearer token"), "\(message)")
            #expect(message.contains("Basic"), "\(message)")
            #expect(!message.contains("dXNlcjpwYXNz"), "the refusal repeated the credentials")
        }
    }

    // MARK: - Header-read and idle timeouts (defect 10)

    /// Runs `body` with a daemon whose HTTP front has these limits, and the address of its TCP
    /// listener or Unix socket.
    func withFront(
        headerTimeoutMs: Int,
        idleTimeoutMs: Int,
        tcp: Bool,
        _ body: (TestDaemon, String) async throws -> Void
    ) async throws {
        try await TestDaemon.with(
            configure: { config, _ in
                config.http.headerTimeoutMs = headerTimeoutMs
                config.http.idleTimeoutMs = idleTimeoutMs
            },
            tcpHTTP: true
        ) { daemon in
            try await body(daemon, tcp ? try #require(daemon.httpBaseURL) : daemon.httpSocketPath)
        }
    }

    @Test(arguments: [true, false])
    func aSlowRequestHeadIsClosedAndOthersAreServed(tcp: Bool) async throws {
        try await self.withFront(headerTimeoutMs: 400, idleTimeoutMs: 60_000, tcp: tcp) { daemon, address in
            var slow: [RawConnection] = []
            for _ in 0..<8 {
                let connection = try RawConnection(address)
                try connection.send("GET /health HTTP/1.1\r\nho")
                slow.append(connection)
            }
            // Another client is served meanwhile.
            let health = try await HTTPFrontTests().send(daemon, "/health", method: .GET, tcp: tcp)
            #expect(health.status == 200)
            for connection in slow {
                let result = await connection.readUntilClosed(timeout: .seconds(5))
                #expect(result.closed, "a connection that never finished its request head stayed open")
            }
        }
    }

    @Test(arguments: [true, false])
    func anIdleKeepAliveConnectionIsClosed(tcp: Bool) async throws {
        try await self.withFront(headerTimeoutMs: 60_000, idleTimeoutMs: 400, tcp: tcp) { daemon, address in
            let connection = try RawConnection(address)
            try connection.send(Self.request("GET", "/health", token: tcp ? daemon.token : nil))
            let started = ContinuousClock.now
            let result = await connection.readUntilClosed(timeout: .seconds(5))
            #expect(Self.status(of: result.text) == 200, "\(result.text)")
            #expect(result.closed, "an idle keep-alive connection stayed open")
            #expect(ContinuousClock.now - started >= .milliseconds(300), "closed before the idle limit")
        }
    }
}
