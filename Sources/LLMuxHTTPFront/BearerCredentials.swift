/// What an `Authorization` header offers, read as RFC 9110 says: the scheme is
/// case-insensitive and separated from the credentials by one or more spaces.
enum BearerCredentials: Equatable {
    /// No header, or `Bearer` with nothing after it.
    case missing
    /// A scheme other than `Bearer` (only the scheme is kept: never the credentials).
    case otherScheme(String)
    case token(Substring)

    init(header: String?) {
        let trimmed = (header ?? "").drop { $0 == " " || $0 == "\t" }
        guard !trimmed.isEmpty else {
            self = .missing
            return
        }
        let scheme = trimmed.prefix { $0 != " " && $0 != "\t" }
        guard scheme.lowercased() == "bearer" else {
            self = .otherScheme(String(scheme.prefix(32)))
            return
        }
        var token = trimmed.dropFirst(scheme.count).drop { $0 == " " || $0 == "\t" }
        while let last = token.last, last == " " || last == "\t" { token = token.dropLast() }
        self = token.isEmpty ? .missing : .token(token)
    }
}
