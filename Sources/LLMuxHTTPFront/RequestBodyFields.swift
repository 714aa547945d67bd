import LLMuxWire
import NIOCore

/// What every dialect's request reader does first: the body as a JSON
/// object, and its `stream` flag.
enum RequestBodyFields {
    static func object(_ body: ByteBuffer) throws(WireError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body.readableBytesView)
        } catch {
            throw WireError(.invalidRequest, "the request body is not valid JSON")
        }
        guard case .object(let object) = value else { throw WireError(.invalidRequest, "the request body must be a JSON object") }
        return object
    }

    /// `stream`: absent or null is false.
    static func stream(_ object: [String: JSONValue]) throws(WireError) -> Bool {
        switch object["stream"] {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        default: throw WireError(.invalidRequest, "'stream' must be true or false")
        }
    }
}
