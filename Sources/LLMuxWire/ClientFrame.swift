public import NIOCore

/// A frame sent by a client to the daemon.
public enum ClientFrame: Sendable, Hashable {
    case hello(ClientHello)
    case chat(ChatRequest)
    case cancel(id: String)
    case ping(id: String)
    case models(id: String)
    case status(id: String)
    /// Re-reads the daemon's configuration file.
    case reload(id: String)
}

/// A client's optional greeting: which protocol versions it speaks, who it
/// is, and how urgent its requests are.
public struct ClientHello: Sendable, Hashable {
    public var protocols: [Int]
    public var client: String?
    public var priority: RequestPriority?
    /// The connection's delta-merging window in milliseconds (see `CoalesceWindow`).
    public var coalesceMs: Int?

    public init(protocols: [Int] = ProtocolVersion.supported, client: String? = nil, priority: RequestPriority? = nil, coalesceMs: Int? = nil) {
        self.protocols = protocols
        self.client = client
        self.priority = priority
        self.coalesceMs = coalesceMs
    }
}

/// Where a connection's requests stand in a provider's queue (`max_inflight`).
public enum RequestPriority: String, Sendable, Hashable, CaseIterable {
    /// A person is waiting: served before background requests. The default.
    case interactive
    /// Batch work: waits while interactive requests are queued.
    case background
}

extension ClientFrame {
    /// Decodes one line (without its newline). Throws a `FrameDecodingError`
    /// that carries the frame's id whenever one could be read.
    public static func decode(line: ByteBuffer) throws(FrameDecodingError) -> ClientFrame {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line.readableBytesView)
        } catch {
            throw FrameDecodingError(.parseError, "the line is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw FrameDecodingError(.parseError, "a frame must be a JSON object, got \(value.typeName)")
        }
        var id: String?
        switch object["id"] {
        case nil, .null?: id = nil
        case .string(let s)?: id = s
        case let other?:
            throw FrameDecodingError(.invalidRequest, "field 'id' must be a string, got \(other.typeName)")
        }
        guard let typeValue = object["type"] else {
            throw FrameDecodingError(.invalidRequest, "missing field 'type'", id: id)
        }
        guard case .string(let type) = typeValue else {
            throw FrameDecodingError(.invalidRequest, "field 'type' must be a string, got \(typeValue.typeName)", id: id)
        }
        func requireID() throws(FrameDecodingError) -> String {
            guard let id else { throw FrameDecodingError(.invalidRequest, "a '\(type)' frame needs a string field 'id'") }
            guard !id.isEmpty else { throw FrameDecodingError(.invalidRequest, "field 'id' must not be empty") }
            return id
        }
        switch type {
        case "hello":
            var protocols = ProtocolVersion.supported
            switch object["protocol"] {
            case nil, .null?: break
            case .array(let items)?:
                let versions = items.compactMap { $0.intValue }.map { Int($0) }
                guard versions.count == items.count else {
                    throw FrameDecodingError(.invalidRequest, "field 'protocol' must be an array of integers", id: id)
                }
                protocols = versions
            case let single?:
                guard let version = single.intValue else {
                    throw FrameDecodingError(.invalidRequest, "field 'protocol' must be an array of integers", id: id)
                }
                protocols = [Int(version)]
            }
            var client: String?
            switch object["client"] {
            case nil, .null?: client = nil
            case .string(let s)?: client = s
            case let other?:
                throw FrameDecodingError(.invalidRequest, "field 'client' must be a string, got \(other.typeName)", id: id)
            }
            var priority: RequestPriority?
            switch object["priority"] {
            case nil, .null?: priority = nil
            case .string(let s)?:
                guard let known = RequestPriority(rawValue: s) else {
                    throw FrameDecodingError(.invalidRequest, "field 'priority' must be \"interactive\" or \"background\"", id: id)
                }
                priority = known
            case let other?:
                throw FrameDecodingError(.invalidRequest, "field 'priority' must be a string, got \(other.typeName)", id: id)
            }
            let coalesceMs = try CoalesceWindow.decode(object["coalesce_ms"], id: id)
            return .hello(ClientHello(protocols: protocols, client: client, priority: priority, coalesceMs: coalesceMs))
        case "chat":
            return .chat(try ChatRequest.decode(id: try requireID(), object: object))
        case "embed":
            return .chat(try ChatRequest.decodeEmbed(id: try requireID(), object: object))
        case "complete":
            return .chat(try ChatRequest.decodeComplete(id: try requireID(), object: object))
        case "cancel":
            return .cancel(id: try requireID())
        case "ping":
            return .ping(id: try requireID())
        case "models":
            return .models(id: try requireID())
        case "status":
            return .status(id: try requireID())
        case "reload":
            return .reload(id: try requireID())
        default:
            throw FrameDecodingError(.invalidRequest, "unknown frame type '\(type)'", id: id)
        }
    }

    /// Appends this frame as one NDJSON line (newline included).
    public func encode(into buffer: inout ByteBuffer) {
        JSONWriter.append(to: &buffer) { writer in self.encode(with: &writer) }
    }

    private func encode(with writer: inout JSONWriter) {
        switch self {
        case .hello(let hello):
            writer.beginObject()
            writer.field("type", "hello")
            writer.key("protocol")
            writer.beginArray()
            for version in hello.protocols { writer.int(version) }
            writer.endArray()
            if let client = hello.client { writer.field("client", client) }
            if let priority = hello.priority { writer.field("priority", priority.rawValue) }
            if let coalesceMs = hello.coalesceMs { writer.field("coalesce_ms", coalesceMs) }
            writer.endObject()
        case .chat(let request):
            request.encode(into: &writer)
        case .cancel(let id), .ping(let id), .models(let id), .status(let id), .reload(let id):
            writer.beginObject()
            writer.field("type", self.typeName)
            writer.field("id", id)
            writer.endObject()
        }
        writer.buffer.writeInteger(UInt8(ascii: "\n"))
    }

    public var typeName: String {
        switch self {
        case .hello: return "hello"
        case .chat: return "chat"
        case .cancel: return "cancel"
        case .ping: return "ping"
        case .models: return "models"
        case .status: return "status"
        case .reload: return "reload"
        }
    }
}
