#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Embedding vectors as OpenAI's `encoding_format: "base64"` spells them: the components as
/// little-endian IEEE 754 float32, back to back, in padded standard base64 (what the openai
/// SDK asks for by default and decodes with `np.frombuffer(..., dtype="float32")`).
public enum Float32Base64 {
    public static func encode(_ vector: [Double]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for component in vector {
            let bits = Float(component).bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }

    /// The components, or `nil` when `text` is not base64 of a whole number of float32s.
    public static func decode(_ text: String) -> [Double]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        var vector: [Double] = []
        vector.reserveCapacity(data.count / 4)
        var index = data.startIndex
        while index < data.endIndex {
            var bits: UInt32 = 0
            for offset in 0..<4 { bits |= UInt32(data[index + offset]) << (8 * offset) }
            vector.append(Double(Float(bitPattern: bits)))
            index += 4
        }
        return vector
    }
}
