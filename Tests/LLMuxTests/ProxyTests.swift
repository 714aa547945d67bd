import Foundation
import LLMuxConfig
import LLMuxMockUpstream
import LLMuxWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Which proxy each provider's connections use (`proxy`, `HTTPS_PROXY`, `HTTP_PROXY`,
/// `NO_PROXY`), read as curl reads them, and the password kept out of every message.
@Suite("Upstream proxies: selection")
struct ProxySelectionTests {
    static func provider(_ baseURL: String, _ proxy: ProviderConfig.ProxySetting = .environment) -> ProviderConfig {
        var provider = ProviderConfig(name: "p", baseURL: baseURL, keySource: .none)
        provider.proxy = proxy
        return provider
    }

    @Test func theSchemeOfTheUpstreamPicksTheVariable() throws {
        let selector = ProxySelector(environment: ["HTTPS_PROXY": "http://secure:3128", "http_proxy": "plain:8080"])
        #expect(try selector.choice(for: Self.provider("https://api.openai.com/v1")).proxy == UpstreamProxy(host: "secure", port: 3128))
        #expect(try selector.choice(for: Self.provider("https://api.openai.com/v1")).source == "HTTPS_PROXY")
        #expect(try selector.choice(for: Self.provider("http://10.0.0.5:8000/v1")).proxy == UpstreamProxy(host: "plain", port: 8080))
        #expect(try ProxySelector(environment: [:]).choice(for: Self.provider("https://x/v1")).proxy == nil)
    }

    @Test func noProxyNamesHostsAndDomainSuffixes() throws {
        let selector = ProxySelector(environment: ["HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "localhost, .internal.example,api.example.com:443,[::1]"])
        #expect(try selector.choice(for: Self.provider("https://localhost:8443/v1")).proxy == nil)
        #expect(try selector.choice(for: Self.provider("https://llm.internal.example/v1")).proxy == nil)
        #expect(try selector.choice(for: Self.provider("https://api.example.com/v1")).proxy == nil)
        #expect(try selector.choice(for: Self.provider("https://[::1]:8443/v1")).proxy == nil)
        // A suffix matches whole labels only.
        #expect(try selector.choice(for: Self.provider("https://notexample.com/v1")).proxy != nil)
        #expect(try selector.choice(for: Self.provider("https://evilapi.example.com/v1")).proxy != nil)
        let all = ProxySelector(environment: ["HTTPS_PROXY": "http://proxy:3128", "no_proxy": "*"])
        #expect(try all.choice(for: Self.provider("https://api.openai.com/v1")).proxy == nil)
    }

    @Test func aProvidersOwnProxyWinsAndAnEmptyOneIsDirect() throws {
        let selector = ProxySelector(environment: ["HTTPS_PROXY": "http://env:3128", "NO_PROXY": "*"])
        let own = UpstreamProxy(host: "own", port: 8888)
        #expect(try selector.choice(for: Self.provider("https://api.openai.com/v1", .server(own))).proxy == own)
        let env = ProxySelector(environment: ["HTTPS_PROXY": "http://env:3128"])
        #expect(try env.choice(for: Self.provider("https://api.openai.com/v1", .direct)).proxy == nil)
    }

    @Test func credentialsAreParsedAndNeverShown() throws {
        let proxy = try UpstreamProxy.parse("http://alice:p%40ss@proxy.corp:3128/")
        #expect(proxy.host == "proxy.corp" && proxy.port == 3128)
        #expect(proxy.username == "alice")
        #expect(proxy.password?.reveal() == "p@ss")
        #expect(proxy.description == "http://alice@proxy.corp:3128")
        #expect(try UpstreamProxy.parse("proxy.corp").port == 1080)
        #expect(throws: UpstreamProxy.Invalid.self) { try UpstreamProxy.parse("socks5://alice:hunter2@proxy:1080") }
        do {
            _ = try ProxySelector(environment: ["HTTPS_PROXY": "http://alice:hunter2@proxy:99999"]).choice(for: Self.provider("https://x/v1"))
            Issue.record("a port beyond 65535 was accepted")
        } catch {
            #expect(error.description.hasPrefix("HTTPS_PROXY: "))
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func theConfigsProxyKeyIsReadAndChecked() throws {
        let base = "[providers.corp]\nkind = \"openai\"\nbase_url = \"https://llm.corp/v1\"\n"
        let loader = ConfigLoader(environment: [:])
        let config = try loader.parse(base + "proxy = \"http://bob:secret@proxy:3128\"\n", path: "c.toml")
        guard case .server(let proxy)? = config.providers["corp"]?.proxy else {
            Issue.record("proxy not read: \(String(describing: config.providers["corp"]?.proxy))")
            return
        }
        #expect(proxy.username == "bob" && proxy.host == "proxy" && proxy.port == 3128)
        #expect(try loader.parse(base + "proxy = \"\"\n", path: "c.toml").providers["corp"]?.proxy == .direct)
        #expect(try loader.parse(base, path: "c.toml").providers["corp"]?.proxy == .environment)
        do {
            _ = try loader.parse(base + "proxy = \"socks5://bob:secret@proxy:1080\"\n", path: "c.toml")
            Issue.record("a socks5 proxy was accepted")
        } catch {
            #expect("\(error)".contains("proxy"))
            #expect(!"\(error)".contains("secret"))
        }
    }
}

/// A real proxy on loopback (Debian's tinyproxy, with basic authentication) between llmuxd and
/// the mock upstream: requests reach the mock through it (a CONNECT tunnel, as for TLS), by
/// `proxy` and by `HTTP_PROXY`;
/// `NO_PROXY` bypasses it; a wrong password fails without showing it. `.ci/run` installs
/// tinyproxy and sets `LLMUX_REQUIRE_EDITORS=1`, so in CI a missing proxy fails.
@Suite("Upstream proxies through tinyproxy", .tags(.processes), .fullTierOnly)
struct ProxyTinyproxyTests {
    static let tinyproxy =
        EditorClientTests.find("tinyproxy") ?? (FileManager.default.isExecutableFile(atPath: "/usr/sbin/tinyproxy") ? "/usr/sbin/tinyproxy" : nil)

    /// A free loopback port (bound, read, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw RawConnection.Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs tinyproxy on a free loopback port with basic authentication for `body`.
    static func withTinyproxy<R>(_ body: (Int, Tinyproxy) async throws -> R) async throws -> R {
        let tinyproxy = try #require(Self.tinyproxy, "tinyproxy is not installed")
        let directory = try TemporaryDirectory.make()
        defer { TemporaryDirectory.remove(directory) }
        let port = try Self.freePort()
        let config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            Allow 127.0.0.1
            BasicAuth llmux s3cret-pass
            MaxClients 64
            LogLevel Info
            LogFile "\(directory)/tinyproxy.log"
            PidFile "\(directory)/tinyproxy.pid"
            """
        try config.write(toFile: directory + "/tinyproxy.conf", atomically: true, encoding: .utf8)
        let child = try ChildProcess(tinyproxy, ["-d", "-c", directory + "/tinyproxy.conf"], environment: cleanEnvironment())
        defer { kill(child.pid, SIGTERM) }
        var listening = false
        for _ in 0..<200 where !listening {
            listening = (try? RawConnection("http://127.0.0.1:\(port)")) != nil
            if !listening { try await Task.sleep(for: .milliseconds(25)) }
        }
        try #require(listening, "tinyproxy did not start: \(child.stderr)")
        let result = try await body(port, Tinyproxy(logPath: directory + "/tinyproxy.log"))
        kill(child.pid, SIGTERM)
        _ = await child.wait(timeout: .seconds(10))
        return result
    }

    static func chat(_ daemon: TestDaemon, model: String) async throws -> FrameLog {
        try await daemon.connect { connection in
            try await connection.send(line: chatLine("a", model: model))
            return try await FrameLog.read(from: connection, until: ["a"])
        }
    }

    /// What tinyproxy logged. async-http-client reaches every upstream through a proxy with
    /// CONNECT (plain HTTP too), so each upstream connection is one `CONNECT host:port` request.
    struct Tinyproxy {
        let logPath: String

        func tunnels(to mock: MockUpstream) -> Int {
            let target = mock.baseURL.replacingOccurrences(of: "http://", with: "").split(separator: "/").first.map(String.init) ?? ""
            let log = (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? ""
            return log.split(separator: "\n").filter { $0.contains("CONNECT \(target) HTTP/1.1") }.count
        }
    }

    @Test(.enabled(if: ProxyTinyproxyTests.tinyproxy != nil || EditorClientTests.required, "tinyproxy is not installed"))
    func aProvidersProxyCarriesItsRequests() async throws {
        try await Self.withTinyproxy { port, tinyproxy in
            try await TestDaemon.with(configure: { config, mock in
                var proxied = ProviderConfig(name: "corp", baseURL: mock.baseURL, keySource: .environment("MOCK_KEY"), http1Only: true)
                proxied.proxy = .server(UpstreamProxy(host: "127.0.0.1", port: port, username: "llmux", password: Secret("s3cret-pass")))
                config.providers["corp"] = proxied
                var wrong = proxied
                wrong.name = "wrong"
                wrong.proxy = .server(UpstreamProxy(host: "127.0.0.1", port: port, username: "llmux", password: Secret("not-the-pass")))
                config.providers["wrong"] = wrong
            }) { daemon in
                let log = try await Self.chat(daemon, model: "corp/via-proxy")
                #expect(log.text("a") == "echo: hello a", "\(log.all)")
                #expect(tinyproxy.tunnels(to: daemon.mock) == 1, "the request did not pass through tinyproxy")
                // The direct provider next to it still goes direct.
                let direct = try await Self.chat(daemon, model: "mock/direct")
                #expect(direct.text("a") == "echo: hello a")
                #expect(tinyproxy.tunnels(to: daemon.mock) == 1)
                // A wrong password: an error that names the provider, not the password.
                let refused = try await Self.chat(daemon, model: "wrong/never")
                guard case .error(_, let error)? = refused.terminal("a") else {
                    Issue.record("a wrong proxy password still answered: \(refused.all)")
                    return
                }
                #expect(error.message.contains("wrong"), "\(error.message)")
                #expect(!error.message.contains("not-the-pass") && !daemon.logText.contains("not-the-pass") && !daemon.logText.contains("s3cret-pass"))
            }
        }
    }

    @Test(.enabled(if: ProxyTinyproxyTests.tinyproxy != nil || EditorClientTests.required, "tinyproxy is not installed"))
    func httpProxyFromTheEnvironmentAndNoProxy() async throws {
        try await Self.withTinyproxy { port, tinyproxy in
            let proxy = "http://llmux:s3cret-pass@127.0.0.1:\(port)"
            try await TestDaemon.with(environment: ["HTTP_PROXY": proxy]) { daemon in
                let log = try await Self.chat(daemon, model: "mock/from-env")
                #expect(log.text("a") == "echo: hello a", "\(log.all)")
                #expect(tinyproxy.tunnels(to: daemon.mock) == 1, "HTTP_PROXY was not used")
            }
            try await TestDaemon.with(environment: ["HTTP_PROXY": proxy, "NO_PROXY": "127.0.0.1"]) { daemon in
                let log = try await Self.chat(daemon, model: "mock/exempt")
                #expect(log.text("a") == "echo: hello a", "\(log.all)")
                #expect(tinyproxy.tunnels(to: daemon.mock) == 0, "NO_PROXY did not exempt the host")
            }
        }
    }
}
