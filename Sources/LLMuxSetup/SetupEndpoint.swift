/// Where a tool reaches llmux: the HTTP front on loopback TCP, its bearer token, and the
/// model or route name the tool asks for.
package struct SetupEndpoint: Sendable {
    /// `http://HOST:PORT`, without a path.
    package var baseURL: String
    /// The HTTP front's token (`llmux token`).
    package var token: String
    /// A model or route name of the user's config.
    package var model: String

    package init(baseURL: String, token: String, model: String) {
        self.baseURL = baseURL
        self.token = token
        self.model = model
    }

    /// `HOST:PORT`, for tools that take the host and the scheme apart (gptel).
    package var hostPort: String {
        String(self.baseURL.drop(while: { $0 != "/" }).drop(while: { $0 == "/" }))
    }

    /// The environment variable that tools configured by name read the token from.
    package static let tokenVariable = "LLMUX_API_KEY"
}
