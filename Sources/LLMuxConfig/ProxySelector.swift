/// Which proxy a provider's connections go through: its own `proxy` when the config sets one,
/// else `HTTPS_PROXY` (https upstreams) or `HTTP_PROXY` (http upstreams), upper or lower case,
/// unless `NO_PROXY` names the host. As curl reads them: `NO_PROXY` entries are host names or
/// domain suffixes (`example.com` and `.example.com` both match `api.example.com`), `*` matches
/// every host; nothing is exempt by default, loopback included.
package struct ProxySelector: Sendable {
    package var environment: [String: String]

    package init(environment: [String: String]) {
        self.environment = environment
    }

    package struct Choice: Sendable, Hashable {
        package var proxy: UpstreamProxy?
        /// Where it came from: `proxy` in the config, a variable's name, or nil for a direct connection.
        package var source: String?
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
        let lowered = provider.baseURL.lowercased()
        let names = lowered.hasPrefix("https://") ? ["HTTPS_PROXY", "https_proxy"] : ["HTTP_PROXY", "http_proxy"]
        guard let (name, value) = names.lazy.compactMap({ name in self.value(name).map { (name, $0) } }).first else {
            return Choice(proxy: nil, source: nil)
        }
        if let host = Self.host(of: provider.baseURL), self.exempts(host) { return Choice(proxy: nil, source: nil) }
        do {
            return Choice(proxy: try UpstreamProxy.parse(value), source: name)
        } catch {
            throw UpstreamProxy.Invalid(description: "\(name): \(error.description)")
        }
    }

    private func value(_ name: String) -> String? {
        guard let value = self.environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return value
    }

    /// Whether `NO_PROXY` (or `no_proxy`) names `host`.
    package func exempts(_ host: String) -> Bool {
        guard let list = self.value("NO_PROXY") ?? self.value("no_proxy") else { return false }
        let host = host.lowercased()
        for raw in list.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" { return true }
            // A port in the entry (`host:8080`) is not compared: the host decides.
            if let colon = entry.lastIndex(of: ":"), !entry.contains("]"), entry.filter({ $0 == ":" }).count == 1 {
                entry = String(entry[..<colon])
            }
            if entry.hasPrefix("[") && entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
            if entry.hasPrefix(".") { entry.removeFirst() }
            if entry.isEmpty { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
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
