import AsyncHTTPClient
package import NIOCore
package import NIOHTTP1

/// One request to a provider as the dialects build it: where, which method, the headers and
/// the whole body. `UpstreamExchange` sends it through async-http-client's delegate API.
package struct UpstreamHTTPRequest: Sendable {
    package var url: String
    package var method: HTTPMethod = .POST
    package var headers = HTTPHeaders()
    package var body = ByteBuffer()

    package init(url: String) {
        self.url = url
    }

    /// The request in async-http-client's terms; throws `HTTPClientError` for a URL it
    /// cannot send to (no scheme, an unsupported one, no host).
    func clientRequest() throws -> HTTPClient.Request {
        try HTTPClient.Request(url: self.url, method: self.method, headers: self.headers, body: .byteBuffer(self.body))
    }
}
