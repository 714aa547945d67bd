/// A configuration problem, located as precisely as the file allows.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    package var file: String?
    package var line: Int?
    /// The dotted key path, for example `providers.openai.base_url`.
    package var key: String?
    package var message: String

    package init(file: String?, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `config.toml:12: providers.openai.base_url: must be an http or https URL`
    package var description: String {
        var parts: [String] = []
        if let file {
            parts.append(self.line.map { "\(file):\($0)" } ?? file)
        }
        if let key { parts.append(key) }
        parts.append(self.message)
        return parts.joined(separator: ": ")
    }
}
