import Foundation
import LLMuxWire

/// Fuzz target: arbitrary bytes through `JSONParser`, the decoder every frame
/// and upstream chunk goes through.
///
/// Checked on every input: the cursor's `skipValue` accepts exactly what
/// `parse` accepts (for valid UTF-8: skipping does not decode strings); a
/// parsed value written back by `JSONWriter` parses to exactly the same value
/// (integers as integers, doubles as doubles); and
/// Foundation's `JSONDecoder` accepts the same inputs with the same values
/// (numbers compared by value). Seven differences are documented and allowed:
/// a key given twice in one object (the last one wins here, as in JavaScript
/// and Python; `JSONDecoder` keeps the first, and because it checks numbers
/// and escapes only in values it reads, accepts a malformed later value, which
/// `JSONSerialization` refuses); a number with an exponent that `JSONDecoder`
/// reads as an integer, dropping its fraction; escaped lone surrogates, which
/// `JSONParser` turns into U+FFFD; and four leniencies of `JSONDecoder` that
/// the RFC (and `JSONParser`) refuse: one trailing comma before `}` or `]`,
/// control characters unescaped in strings, bytes that are not UTF-8 in a
/// string, and some texts holding a NUL byte (JSONDecoder stops reading at
/// it in places: a top-level number then NUL and anything, or `[`, NUL, `]`, NUL).
public enum JSONParserFuzzTarget {
    public static func run(_ input: [UInt8]) -> [String] {
        var violations: [String] = []
        var refusal: JSONSyntaxError?
        let parsed: JSONValue?
        do {
            parsed = try JSONParser.parse(input)
        } catch {
            parsed = nil
            refusal = error
        }
        if String(validating: input, as: UTF8.self) != nil {
            let skipped = (try? JSONParser.read(input) { parser throws(JSONSyntaxError) in try parser.skipValue() }) != nil
            if skipped != (parsed != nil) { violations.append("skipValue \(skipped ? "accepts" : "refuses") what parse does not") }
        }
        if let parsed {
            let written = parsed.jsonString
            if let again = try? JSONParser.parse(written) {
                // Exactly equal: an integer stays an integer and a double a double (`0.0` once came back as `0`).
                if again != parsed { violations.append("written and parsed again, the value changed: \(written.prefix(200))") }
            } else {
                violations.append("JSONWriter wrote text JSONParser refuses: \(written.prefix(200))")
            }
        }
        let foundation = try? JSONDecoder().decode(JSONValue.self, from: Data(input))
        switch (parsed, foundation) {
        case (let ours?, let theirs?):
            if !Self.sameValue(ours, theirs) && !Self.holdsDuplicateKey(input) {
                violations.append("JSONDecoder reads a different value")
            }
        case (nil, nil):
            break
        case (nil, _?) where refusal.map({ Self.isTrailingComma(at: $0.offset, in: input) }) == true:
            break
        case (nil, _?) where refusal?.message == "a control character must be escaped in a string":
            break
        case (nil, _?) where refusal?.message == "a string is not valid UTF-8":
            break
        case (nil, _?) where (try? JSONSerialization.jsonObject(with: Data(input), options: .fragmentsAllowed)) == nil:
            // JSONDecoder checks a number or an escape only when it reads the value, and it never
            // reads the value of a key given again; JSONSerialization checks every value and refuses.
            break
        case (nil, _?) where input.contains(0):
            // JSON allows a NUL byte nowhere; JSONDecoder sometimes stops reading at one
            // (a top-level number then NUL and anything; `[`, NUL, `]`, NUL reads as `[]`).
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
        case (.double(let x), .int(let y)):
            // JSONDecoder reads a number with an exponent as an integer when it can, dropping the
            // fraction (`18446740000623778859e-3` becomes 18446740000623778): one unit of the last place apart.
            return x == Double(y) || abs(x - Double(y)) <= max(1, x.ulp)
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y }
            return a == b
        }
    }

    /// Whether some object in the (valid) document names a key twice.
    static func holdsDuplicateKey(_ input: [UInt8]) -> Bool {
        var duplicate = false
        func walk(_ parser: inout JSONParser) throws(JSONSyntaxError) {
            if parser.nextIsObject {
                var keys = Set<String>()
                try parser.readObject { parser, key throws(JSONSyntaxError) in
                    if !keys.insert(key).inserted { duplicate = true }
                    try walk(&parser)
                }
            } else if parser.nextIsArray {
                try parser.readArray { parser throws(JSONSyntaxError) in try walk(&parser) }
            } else {
                try parser.skipValue()
            }
        }
        _ = try? JSONParser.read(input) { parser throws(JSONSyntaxError) in try walk(&parser) }
        return duplicate
    }

    /// Whether the parser stopped at a `}` or `]` whose previous non-whitespace byte is a comma.
    static func isTrailingComma(at offset: Int, in input: [UInt8]) -> Bool {
        guard offset < input.count, input[offset] == UInt8(ascii: "}") || input[offset] == UInt8(ascii: "]") else { return false }
        var before = offset - 1
        while before >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(input[before]) { before -= 1 }
        return before >= 0 && input[before] == UInt8(ascii: ",")
    }

    /// Whether the text holds a `\uD800`...`\uDFFF` escape (case-insensitive).
    static func holdsEscapedSurrogate(_ input: [UInt8]) -> Bool {
        var backslashes = 0
        for i in 0..<input.count {
            if input[i] == UInt8(ascii: "\\") {
                backslashes += 1
                continue
            }
            // An escape starts at a backslash preceded by an even number of backslashes.
            if backslashes % 2 == 1, (input[i] | 0x20) == UInt8(ascii: "u"), i + 2 < input.count, (input[i + 1] | 0x20) == UInt8(ascii: "d"),
                let next = Character(Unicode.Scalar(input[i + 2] | 0x20)).hexDigitValue, next >= 8
            {
                return true
            }
            backslashes = 0
        }
        return false
    }
}
