/// What an `embed` request embeds, in one of the shapes OpenAI's embeddings API takes: one
/// text, several texts, one list of token ids, or several. Kept as the client sent it.
public struct EmbeddingsInput: Sendable, Hashable {
    /// The `input` value: a string, an array of strings, an array of integers or an array of
    /// arrays of integers.
    public var value: JSONValue

    /// How many vectors the answer has.
    public var count: Int {
        switch self.value {
        case .array(let items) where items.allSatisfy({ $0.intValue != nil }): return 1
        case .array(let items): return items.count
        default: return 1
        }
    }

    /// Validates `value`; the message says what is wrong.
    public init(_ value: JSONValue) throws(FrameDecodingError) {
        func invalid(_ message: String) -> FrameDecodingError { FrameDecodingError(.invalidRequest, message) }
        switch value {
        case .string:
            break
        case .array(let items):
            guard !items.isEmpty else { throw invalid("field 'input' must not be empty") }
            let strings = items.allSatisfy { $0.stringValue != nil }
            let tokens = items.allSatisfy { $0.intValue != nil }
            let tokenLists = items.allSatisfy { item in
                guard case .array(let ids) = item, !ids.isEmpty else { return false }
                return ids.allSatisfy { $0.intValue != nil }
            }
            guard strings || tokens || tokenLists else {
                throw invalid("field 'input' must be a string, an array of strings, an array of token ids, or an array of arrays of token ids")
            }
            guard items.count <= Self.maxInputs else { throw invalid("field 'input' has \(items.count) entries; at most \(Self.maxInputs)") }
        default:
            throw invalid("field 'input' must be a string or an array, got \(value.typeName)")
        }
        self.value = value
    }

    /// OpenAI's limit on inputs per request.
    public static let maxInputs = 2048

    /// The texts, for estimating tokens (token ids count as one each).
    public var estimatedBytes: Int {
        switch self.value {
        case .string(let text): return text.utf8.count
        case .array(let items):
            return items.reduce(0) { sum, item in
                switch item {
                case .string(let text): return sum + text.utf8.count
                case .array(let ids): return sum + 4 * ids.count
                default: return sum + 4
                }
            }
        default: return 0
        }
    }
}
