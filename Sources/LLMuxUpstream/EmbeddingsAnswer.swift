package import LLMuxWire

/// Reads an OpenAI-shaped embeddings answer, `{"data":[{"index","embedding"}],"usage":
/// {"prompt_tokens"}}`: the vectors in index order (a vector given in base64 is decoded too),
/// and the input tokens.
package enum EmbeddingsAnswer {
    package static func read(_ body: String, expected count: Int, provider: String) throws(UpstreamError) -> (vectors: [[Double]], usage: Usage?) {
        func invalid(_ what: String) -> UpstreamError {
            UpstreamError(.protocolViolation, "provider '\(provider)' sent an embeddings answer that \(what)")
        }
        guard let json = try? JSONValue.parse(body), case .array(let items)? = json["data"] else {
            throw invalid("is not JSON with a 'data' array")
        }
        var byIndex: [Int: [Double]] = [:]
        for (position, item) in items.enumerated() {
            let index = item["index"]?.intValue.map(Int.init) ?? position
            let vector: [Double]?
            switch item["embedding"] {
            case .array(let numbers)?:
                let components = numbers.compactMap(\.doubleValue)
                vector = components.count == numbers.count ? components : nil
            case .string(let encoded)?:
                vector = Float32Base64.decode(encoded)
            default:
                vector = nil
            }
            guard let vector else { throw invalid("has an embedding that is neither numbers nor base64 float32") }
            guard index >= 0, index < count, byIndex[index] == nil else { throw invalid("has an index \(index) out of place") }
            byIndex[index] = vector
        }
        guard byIndex.count == count else { throw invalid("has \(byIndex.count) vectors for \(count) inputs") }
        let usage = json["usage"].map { usage in
            Usage.fromUpstream(input: usage["prompt_tokens"]?.intValue.map(Int.init), output: 0)
        }
        return ((0..<count).map { byIndex[$0]! }, usage)
    }
}
