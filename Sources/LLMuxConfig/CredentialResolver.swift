import Foundation
package import Logging

/// Turns a provider's key source into its key. Keys read from commands are
/// cached for the daemon's lifetime (until `forget` is called); environment
/// variables and files are read at every request so that rotation needs no restart.
///
/// Errors name the provider and the source but never contain the key or a
/// command's output.
package actor CredentialResolver {
    package struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        package var message: String
        package var description: String { self.message }
    }

    private let environment: [String: String]
    private let commandTimeout: Duration
    private var commandCache: [String: Secret] = [:]
    /// The key commands running now, by provider: a second request waits for the same run.
    private var commandsRunning: [String: Task<Result<Secret, Failure>, Never>] = [:]
    private let logger: Logger

    package init(
        environment: [String: String],
        commandTimeout: Duration = .seconds(10),
        logger: Logger
    ) {
        self.environment = environment
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    /// The provider's key, from the first source that has one:
    /// `$CREDENTIALS_DIRECTORY/<provider name>` (systemd's `LoadCredential=`),
    /// then the configured `api_key_file`, `api_key_cmd` or `api_key_env`.
    package func key(for provider: ProviderConfig) async throws(Failure) -> Secret? {
        if let directory = self.environment["CREDENTIALS_DIRECTORY"], directory.hasPrefix("/"),
            let data = await Self.contents(of: directory + "/" + provider.name)
        {
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { return Secret(value) }
        }
        switch provider.keySource {
        case .none:
            return nil
        case .inline(let secret):
            return secret
        case .environment(let variable):
            guard let value = self.environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw Failure(message: "provider '\(provider.name)': environment variable \(variable) is not set for llmuxd")
            }
            return Secret(value)
        case .file(let path):
            let expanded = Self.expandHome(path, environment: self.environment)
            guard let data = await Self.contents(of: expanded) else {
                throw Failure(message: "provider '\(provider.name)': cannot read api_key_file \(expanded)")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else {
                throw Failure(message: "provider '\(provider.name)': api_key_file \(expanded) is empty")
            }
            return Secret(value)
        case .command(let argv):
            if let cached = self.commandCache[provider.name] { return cached }
            return try await self.commandKey(argv, provider: provider.name)
        }
    }

    /// Drops the cached key of `provider`, so the next request runs its
    /// `api_key_cmd` again (after a 401, or when the provider's config changed).
    package func forget(provider: String) {
        self.commandCache[provider] = nil
    }

    /// Runs the provider's command once for all requests that need its key at the same time.
    private func commandKey(_ argv: [String], provider: String) async throws(Failure) -> Secret {
        if let running = self.commandsRunning[provider] { return try await Self.value(of: running) }
        let environment = Self.commandEnvironment(from: self.environment)
        let timeout = self.commandTimeout
        let executable = argv[0].contains("/") ? Self.expandHome(argv[0], environment: self.environment) : argv[0]
        let running = Task { () -> Result<Secret, Failure> in
            do throws(Failure) {
                return .success(
                    try await KeyCommand(executable: executable, arguments: Array(argv.dropFirst()), environment: environment, timeout: timeout)
                        .run(provider: provider)
                )
            } catch {
                return .failure(error)
            }
        }
        self.commandsRunning[provider] = running
        defer { self.commandsRunning[provider] = nil }
        let value = try await Self.value(of: running)
        self.commandCache[provider] = value
        self.logger.debug("api_key_cmd succeeded", metadata: ["provider": "\(provider)"])
        return value
    }

    private static func value(of task: Task<Result<Secret, Failure>, Never>) async throws(Failure) -> Secret {
        try await task.value.get()
    }

    /// What a key command sees of llmuxd's environment: what password managers and keyrings
    /// need to find the user's session (PATH, HOME, XDG_*, D-Bus, GnuPG, pass, 1Password, an
    /// SSH or GPG agent, a display for a prompt), never the rest, which holds other providers' keys.
    static func commandEnvironment(from environment: [String: String]) -> [String: String] {
        let names: Set<String> = [
            "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
            "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "SSH_AUTH_SOCK",
            "GNUPGHOME", "GPG_AGENT_INFO", "GPG_TTY", "KEYRING_CONTROL",
            "ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS",
        ]
        let prefixes = ["XDG_", "LC_", "PASSWORD_STORE_", "OP_"]
        return environment.filter { name, _ in names.contains(name) || prefixes.contains { name.hasPrefix($0) } }
    }

    /// A key file's bytes, read on the global concurrent executor: a request's task prefers its
    /// connection's event loop, and a blocking read must not stall the loop's other connections.
    static func contents(of path: String) async -> Data? {
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            FileManager.default.contents(atPath: path)
        }
    }

    static func expandHome(_ path: String, environment: [String: String]) -> String {
        if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"] {
            return home + path.dropFirst()
        }
        return path
    }
}
