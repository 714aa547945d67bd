/// Where llmuxd serves its OpenAI-compatible HTTP API.
package struct HTTPFrontConfig: Sendable, Hashable {
    /// Serve on `http.sock` beside the NDJSON socket (peer-credential checked). Default on.
    package var unixSocket: Bool = true
    /// `host:port` for TCP, which requires the bearer token; `nil`: no TCP.
    package var listen: HostPort?
    /// Allows a non-loopback `listen` address (anyone who can reach it and has the token can spend your keys).
    package var allowRemote: Bool = false
    /// How long a connection may take to send a request head, from the moment it
    /// connects (`http_header_timeout_ms`); a slow or silent client is closed after it.
    package var headerTimeoutMs: Int = 10_000
    /// How long a keep-alive connection may sit between one response and the next
    /// request head (`http_idle_timeout_ms`).
    package var idleTimeoutMs: Int = 60_000

    package init(
        unixSocket: Bool = true,
        listen: HostPort? = nil,
        allowRemote: Bool = false,
        headerTimeoutMs: Int = 10_000,
        idleTimeoutMs: Int = 60_000
    ) {
        self.unixSocket = unixSocket
        self.listen = listen
        self.allowRemote = allowRemote
        self.headerTimeoutMs = headerTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
    }
}

/// A TCP address as `host:port` (`[::1]:port` for IPv6).
package struct HostPort: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    package init?(parsing text: String) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        if host == "localhost" { host = "127.0.0.1" }
        self.host = String(host)
        self.port = port
    }

    /// 127.0.0.0/8 or ::1.
    package var isLoopback: Bool {
        self.host == "::1" || self.host.hasPrefix("127.")
    }

    package var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
}
