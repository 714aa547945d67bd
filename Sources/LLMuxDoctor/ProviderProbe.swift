import AsyncHTTPClient
import Foundation
package import LLMuxConfig
package import LLMuxUpstream
import NIOCore
import NIOHTTP1

/// One provider's key source and one cheap call to it (the list of models), as `llmux doctor`
/// reports them. The key goes only into the request's header: messages name its source, never it.
package struct ProviderProbe: Sendable {
    /// llmuxd's own clients (made with the doctor's environment): the call goes through the proxy
    /// and HTTP version llmuxd would use, and a refused connection is an answer at once.
    package var clients: UpstreamHTTPClients
    /// How long the call may take; a provider that does not answer by then is reported unreachable.
    package var timeout: Duration

    package init(clients: UpstreamHTTPClients, timeout: Duration = .seconds(10)) {
        self.clients = clients
        self.timeout = timeout
    }

    /// Findings for `provider`: its key, then (unless `offline`) whether it answers with that key.
    package func check(_ provider: ProviderConfig, resolver: CredentialResolver, offline: Bool) async -> [DoctorFinding] {
        let subject = "provider \(provider.name)"
        if provider.isDemo { return [DoctorFinding(.note, subject, "the built-in demo (scripted answers, no network)")] }
        let key: Secret?
        do {
            key = try await resolver.key(for: provider)
        } catch {
            return [DoctorFinding(.failure, subject, "no key: \(error.message)", fix: Self.keyFix(provider.keySource))]
        }
        var findings = [DoctorFinding(.ok, subject, "key: \(Self.describe(provider.keySource, found: key != nil))")]
        guard !offline else { return findings }
        findings.append(await self.reach(provider, key: key))
        return findings
    }

    static func describe(_ source: ProviderConfig.KeySource, found: Bool) -> String {
        switch source {
        case .none: return "none needed"
        case .environment(let variable): return "from $\(variable)"
        case .file(let path): return "from the file \(path)"
        case .command(let argv): return "from the command `\(argv.joined(separator: " "))`"
        case .inline: return "written in the config file"
        }
    }

    static func keyFix(_ source: ProviderConfig.KeySource) -> String? {
        switch source {
        case .environment(let variable):
            return "export \(variable)=... where llmuxd starts (for the systemd unit: systemctl --user set-environment \(variable)=..., or api_key_file)"
        case .file(let path): return "create \(path) holding the key, readable by you (chmod 600)"
        case .command(let argv): return "run `\(argv.joined(separator: " "))` yourself: it must exit 0 and print the key"
        case .none, .inline: return nil
        }
    }

    /// The models list: `GET {base}/models` with the provider's own authentication header.
    private func reach(_ provider: ProviderConfig, key: Secret?) async -> DoctorFinding {
        let subject = "provider \(provider.name)"
        let base = provider.baseURL.hasSuffix("/") ? String(provider.baseURL.dropLast()) : provider.baseURL
        var url: String
        var request: HTTPClientRequest
        switch provider.kind {
        case .azure:
            url = base + "/openai/models?api-version=" + (provider.apiVersion ?? ProviderConfig.defaultAzureAPIVersion)
            request = HTTPClientRequest(url: url)
            if let key { request.headers.add(name: "api-key", value: key.reveal()) }
        case .anthropic:
            url = base + "/models"
            request = HTTPClientRequest(url: url)
            if let key { request.headers.add(name: "x-api-key", value: key.reveal()) }
            request.headers.add(name: "anthropic-version", value: "2023-06-01")
        case .openai, .openaiResponses:
            url = base + "/models"
            request = HTTPClientRequest(url: url)
            if let key { request.headers.add(name: "authorization", value: "Bearer " + key.reveal()) }
        }
        for (name, value) in provider.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.method = .GET
        // Through the proxy llmuxd would use for this provider.
        let client: HTTPClient
        let choice: ProxySelector.Choice
        do {
            client = try self.clients.client(for: provider).get()
            choice = try self.clients.proxyChoice(for: provider)
        } catch {
            return DoctorFinding(.failure, subject, "its proxy: \(error.description)", fix: "fix the proxy URL (http://[user:password@]host:port)")
        }
        url += choice.proxy.map { " through \($0) (\(choice.source ?? "proxy"))" } ?? ""
        return await self.get(request, url: url, subject: subject, client: client)
    }

    private func get(_ request: HTTPClientRequest, url: String, subject: String, client: HTTPClient) async -> DoctorFinding {
        do {
            let response = try await client.execute(request, timeout: TimeAmount(self.timeout))
            _ = try? await response.body.collect(upTo: 1 << 20)
            let status = Int(response.status.code)
            switch status {
            case 200..<300:
                return DoctorFinding(.ok, subject, "GET \(url): \(status)")
            case 401, 403:
                return DoctorFinding(.failure, subject, "GET \(url): \(status): the provider rejected the key", fix: "check the key and its source")
            case 404, 405:
                // Some OpenAI-compatible servers list no models; the server answered, which is what counts here.
                return DoctorFinding(.note, subject, "reachable, but GET \(url) answered \(status) (the server may not list models)")
            default:
                return DoctorFinding(.warning, subject, "GET \(url): \(status)")
            }
        } catch {
            return DoctorFinding(.failure, subject, "unreachable: GET \(url): \(error)", fix: "check base_url and the network (a proxy?)")
        }
    }
}
