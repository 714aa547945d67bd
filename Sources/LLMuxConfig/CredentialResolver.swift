import Foundation
public import Logging

/// Turns a provider's key source into its key. Keys read from commands are
/// cached for the daemon's lifetime (until `forget` is called); environment
/// variables and files are read at every request so that rotation needs no restart.
///
/// Errors name the provider and the source but never contain the key or a
/// command's output.
public actor CredentialResolver {
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { self.message }
    }

    private let environment: [String: String]
    private let commandTimeout: Duration
    private var commandCache: [String: Secret] = [:]
    private let logger: Logger

    public init(
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
    public func key(for provider: ProviderConfig) async throws(Failure) -> Secret? {
        if let directory = self.environment["CREDENTIALS_DIRECTORY"], directory.hasPrefix("/"),
            let data = FileManager.default.contents(atPath: directory + "/" + provider.name)
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
            guard let data = FileManager.default.contents(atPath: expanded) else {
                throw Failure(message: "provider '\(provider.name)': cannot read api_key_file \(expanded)")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else {
                throw Failure(message: "provider '\(provider.name)': api_key_file \(expanded) is empty")
            }
            return Secret(value)
        case .command(let argv):
            if let cached = self.commandCache[provider.name] { return cached }
            let value = try await self.run(argv, provider: provider.name)
            self.commandCache[provider.name] = value
            return value
        }
    }

    /// Drops the cached key of `provider`, so the next request runs its
    /// `api_key_cmd` again (after a 401, or when the provider's config changed).
    public func forget(provider: String) {
        self.commandCache[provider] = nil
    }

    private func run(_ argv: [String], provider: String) async throws(Failure) -> Secret {
        let process = Process()
        let executable = argv[0]
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: Self.expandHome(executable, environment: self.environment))
            process.arguments = Array(argv.dropFirst())
        } else {
            // Looked up in PATH by env(1), still without a shell.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = argv
        }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(message: "provider '\(provider)': api_key_cmd could not be started: \(executable)")
        }
        let timeout = self.commandTimeout
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled && process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let output: Data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = stdout.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        timer.cancel()
        if process.terminationReason == .uncaughtSignal {
            throw Failure(message: "provider '\(provider)': api_key_cmd \(executable) did not finish within \(timeout)")
        }
        guard process.terminationStatus == 0 else {
            throw Failure(message: "provider '\(provider)': api_key_cmd \(executable) exited with status \(process.terminationStatus)")
        }
        let value = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else {
            throw Failure(message: "provider '\(provider)': api_key_cmd \(executable) printed nothing")
        }
        self.logger.debug("api_key_cmd succeeded", metadata: ["provider": "\(provider)"])
        return Secret(value)
    }

    static func expandHome(_ path: String, environment: [String: String]) -> String {
        if path == "~" || path.hasPrefix("~/"), let home = environment["HOME"] {
            return home + path.dropFirst()
        }
        return path
    }
}
