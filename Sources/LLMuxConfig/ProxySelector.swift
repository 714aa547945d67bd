/// Which proxy a provider's connections go through: its own `proxy` when the config sets one,
/// else `HTTPS_PROXY` (https upstreams) or `HTTP_PROXY` (http upstreams), upper or lower case,
/// unless `NO_PROXY` names the host. As curl reads them: `NO_PROXY` entries are host names or
/// domain suffixes (`example.com` and `.example.com` both match `api.example.com`), `*` matches
/// every host; nothing is exempt by default, loopback included.
///
/// The variables are read and parsed once, when the selector is made: `choice(for:)` runs for
/// every upstream attempt.
package struct ProxySelector: Sendable {
    package struct Choice: Sendable, Hashable {
        package var proxy: UpstreamProxy?
        /// Where it came from: `proxy` in the config, a variable's name, or nil for a direct connection.
        package var source: String?
    }

    /// A proxy variable: its name and what it parsed to.
    private struct Variable: Sendable {
        var name: String
        var proxy: Result<UpstreamProxy, UpstreamProxy.Invalid>
    }

    private let https: Variable?
    private let http: Variable?
    /// `NO_PROXY`'s host names and domain suffixes, lower case, without ports, brackets or a leading dot.
    private let exemptions: [String]
    private let exemptsAll: Bool

    package init(environment: [String: String]) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return value
        }
        func variable(_ names: [String]) -> Variable? {
            guard let name = names.first(where: { value($0) != nil }), let text = value(name) else { return nil }
            do {
                return Variable(name: name, proxy: .success(try UpstreamProxy.parse(text)))
            } catch {
                return Variable(name: name, proxy: .failure(UpstreamProxy.Invalid(description: "\(name): \(error.description)")))
            }
        }
        self.https = variable(["HTTPS_PROXY", "https_proxy"])
        self.http = variable(["HTTP_PROXY", "http_proxy"])
        let entries = (value("NO_PROXY") ?? value("no_proxy"))?.split(separator: ",").map { Self.exemption(String($0)) } ?? []
        self.exemptsAll = entries.contains("*")
        self.exemptions = entries.filter { !$0.isEmpty && $0 != "*" }
    }

    /// A `NO_PROXY` entry as it is compared: a port (`host:8080`) is dropped, the host decides.
    private static func exemption(_ raw: String) -> String {
        var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
        if let colon = entry.lastIndex(of: ":"), !entry.contains("]"), entry.filter({ $0 == ":" }).count == 1 {
            entry = String(entry[..<colon])
        }
        if entry.hasPrefix("[") && entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
        if entry.hasPrefix(".") { entry.removeFirst() }
        return entry
    }

    /// The proxy for `provider`, or a direct connection; an unparsable variable is an error naming it.
    package func choice(for provider: ProviderConfig) throws(UpstreamProxy.Invalid) -> Choice {
        switch provider.proxy {
        case .direct:
            return Choice(proxy: nil, source: nil)
        case .server(let proxy):
            return Choice(proxy: proxy, source: "proxy")
        case .environment:
            break
        }
        let secure = provider.baseURL.prefix(8).lowercased() == "https://"
        guard let variable = secure ? self.https : self.http else { return Choice(proxy: nil, source: nil) }
        if let host = Self.host(of: provider.baseURL), self.exempts(host) { return Choice(proxy: nil, source: nil) }
        return Choice(proxy: try variable.proxy.get(), source: variable.name)
    }

    /// Whether `NO_PROXY` (or `no_proxy`) names `host`.
    package func exempts(_ host: String) -> Bool {
        if self.exemptsAll { return true }
        let host = host.lowercased()
        return self.exemptions.contains { host == $0 || host.hasSuffix("." + $0) }
    }

    /// The host of a URL such as `https://api.openai.com/v1`.
    static func host(of url: String) -> String? {
        guard let range = url.range(of: "://") else { return nil }
        var rest = url[range.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }
}
