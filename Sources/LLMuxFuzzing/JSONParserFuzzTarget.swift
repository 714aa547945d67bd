#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LLMuxWire

/// Fuzz target: arbitrary bytes through `JSONParser`, the decoder every frame
/// and upstream chunk goes through.
///
/// Checked on every input: the cursor's `skipValue` accepts exactly what
/// `parse` accepts (for valid UTF-8: skipping does not decode strings); a
/// parsed value written back by `JSONWriter` parses to the same value; and
/// Foundation's `JSONDecoder` accepts the same inputs with the same values
/// (numbers compared by value), the one documented difference being escaped
/// lone surrogates, which `JSONParser` turns into U+FFFD.
public enum JSONParserFuzzTarget {
    public static func run(_ input: [UInt8]) -> [String] {
        var violations: [String] = []
        let parsed = try? JSONParser.parse(input)
        if String(validating: input, as: UTF8.self) != nil {
            let skipped = (try? JSONParser.read(input) { parser throws(JSONSyntaxError) in try parser.skipValue() }) != nil
            if skipped != (parsed != nil) { violations.append("skipValue \(skipped ? "accepts" : "refuses") what parse does not") }
        }
        if let parsed {
            let written = parsed.jsonString
            if let again = try? JSONParser.parse(written) {
                if !Self.sameValue(parsed, again) { violations.append("written and parsed again, the value changed: \(written.prefix(200))") }
            } else {
                violations.append("JSONWriter wrote text JSONParser refuses: \(written.prefix(200))")
            }
        }
        let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(input))
        switch (parsed, foundation) {
        case (let ours?, let theirs?):
            if !Self.sameValue(ours, theirs) { violations.append("JSONDecoder reads a different value") }
        case (nil, nil):
            break
        default:
            if !Self.holdsEscapedSurrogate(input) {
                violations.append("JSONParser \(parsed == nil ? "refuses" : "accepts") what JSONDecoder \(parsed == nil ? "accepts" : "refuses")")
            }
        }
        return violations
    }

    /// Equal values, numbers compared by value (`1.0` and `1` are the same number).
    static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { sameValue(value, $0) } ?? false }
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y }
            return a == b
        }
    }

    /// Whether the text holds a `\uD800`...`\uDFFF` escape (case-insensitive).
    static func holdsEscapedSurrogate(_ input: [UInt8]) -> Bool {
        guard input.count >= 6 else { return false }
        for i in 0...(input.count - 6) where input[i] == UInt8(ascii: "\\") && (input[i + 1] | 0x20) == UInt8(ascii: "u") {
            if (input[i + 2] | 0x20) == UInt8(ascii: "d"), let next = Character(Unicode.Scalar(input[i + 3] | 0x20)).hexDigitValue, next >= 8 {
                return true
            }
        }
        return false
    }
}
