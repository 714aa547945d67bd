import Foundation

/// An HTTP proxy for upstream connections, as `proxy = "http://[user:password@]host:port"` or
/// `HTTPS_PROXY`/`HTTP_PROXY` give it. Every upstream, TLS or plain HTTP, is reached through a
/// CONNECT tunnel (async-http-client's proxy support). The password is a secret: descriptions
/// show the user and host only.
package struct UpstreamProxy: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int
    package var username: String?
    package var password: Secret?

    package init(host: String, port: Int, username: String? = nil, password: Secret? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    package struct Invalid: Error, CustomStringConvertible {
        package var description: String
    }

    /// Parses a proxy URL (`http://` only, or no scheme, as curl takes it; port 1080 for none given, as curl).
    /// The error never repeats the URL, which may hold a password.
    package static func parse(_ text: String) throws(Invalid) -> UpstreamProxy {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            guard scheme == "http" else {
                throw Invalid(description: "a proxy must be an http:// URL (\(scheme):// proxies are not supported)")
            }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var username: String?
        var password: Secret?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            username = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            if parts.count == 2 { password = Secret(String(parts[1]).removingPercentEncoding ?? String(parts[1])) }
        }
        var host = String(rest)
        var port = 1080
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw Invalid(description: "a proxy's port must be a number from 1 to 65535")
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw Invalid(description: "a proxy URL needs a host") }
        return UpstreamProxy(host: host, port: port, username: username, password: password)
    }

    package var description: String {
        "http://" + (self.username.map { $0 + "@" } ?? "") + "\(self.host):\(self.port)"
    }
}
