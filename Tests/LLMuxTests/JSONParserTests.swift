import Foundation
import LLMuxWire
import NIOCore
@testable import LLMuxFuzzing
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("values of every type, with whitespace around and inside")
    func everyType() throws {
        let value = try JSONParser.parse(
            " {\"s\":\"hi\", \"i\": -42 ,\"d\":1.5e3,\"t\":true,\"f\":false,\"n\":null,\"a\":[1,[],{}],\"o\":{\"k\":\"v\"}}\r\n\t"
        )
        #expect(
            value
                == .object([
                    "s": "hi", "i": .int(-42), "d": .double(1500), "t": true, "f": false, "n": .null,
                    "a": [1, .array([]), .object([:])], "o": ["k": "v"],
                ])
        )
    }

    @Test("integers stay exact to Int64's limits; beyond them they keep their text")
    func integers() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .bigInteger("9223372036854775808"))
        #expect(try JSONParser.parse("-9223372036854775809") == .bigInteger("-9223372036854775809"))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("0.1") == .double(0.1))
        #expect(try JSONParser.parse("1E-2") == .double(0.01))
        #expect(try JSONParser.parse("123456789012345678901234567890").doubleValue == 1.2345678901234568e29)
    }

    @Test func integersBeyond64BitsAreWrittenBackAsTheyCame() throws {
        let text = #"{"seed":123456789012345678901234567890,"n":[-98765432109876543210987,1.5e300]}"#
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(try JSONParser.parse(text))
        #expect(String(buffer: writer.buffer) == #"{"n":[-98765432109876543210987,1.5e+300],"seed":123456789012345678901234567890}"#)
    }

    @Test("escapes, surrogate pairs and raw UTF-8")
    func strings() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(try JSONParser.parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try JSONParser.parse("\"é中😀\"") == .string("é中😀"))
        // A lone surrogate (an emoji split across chunks) becomes U+FFFD, the rest survives.
        #expect(try JSONParser.parse(#""a\ud83db""#) == .string("a\u{FFFD}b"))
        #expect(try JSONParser.parse(#""\ude00x""#) == .string("\u{FFFD}x"))
        #expect(try JSONParser.parse(#""\ud83d\u0041""#) == .string("\u{FFFD}A"))
    }

    @Test(
        "malformed documents are refused with the offset of the fault",
        arguments: [
            ("", 0), ("  ", 2), ("{", 1), ("[1,]", 3), ("{\"a\":1,}", 7), ("{\"a\" 1}", 5), ("{a:1}", 1),
            ("01", 1), ("1.", 2), ("1e", 2), ("-", 1), ("+1", 0), (".5", 0), ("tru", 0), ("nul", 0), ("truex", 4),
            ("\"abc", 0), ("\"a\\x\"", 2), ("\"\\u12G4\"", 5), ("\"a\nb\"", 2), ("1 2", 2), ("[1] x", 4),
            ("{\"a\":1}}", 7), ("1e999", 0), ("NaN", 0), ("// c\n1", 0), ("'a'", 0),
        ]
    )
    func malformed(text: String, offset: Int) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.offset == offset, "\(text.debugDescription): \(error)")
        }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xC0, 0xAF, 0x22]] {
            #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
        }
    }

    @Test("nesting is limited so that a hostile document cannot exhaust the stack")
    func depth() throws {
        let limit = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try JSONParser.parse(deepest).arrayValue != nil)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(tooDeep) }
        // A million open brackets: refused at the limit, no crash.
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(String(repeating: "{\"a\":[", count: 1_000_000)) }
    }

    @Test("duplicate keys: the last one wins")
    func duplicateKeys() throws {
        #expect(try JSONParser.parse(#"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test("bytes that are not contiguous in memory parse the same")
    func nonContiguous() throws {
        let bytes = Array(#"{"k":[1,"two",3.5]}"#.utf8)
        let lazy = bytes.lazy.map { $0 }
        #expect(try JSONParser.parse(lazy) == JSONParser.parse(bytes))
    }

    /// Every fixture and fuzz-corpus document, plus generated ones, passes the
    /// JSON fuzz target's checks: Foundation's `JSONDecoder` reads it the same
    /// way (numbers compared by value), skipping agrees, writing back round-trips.
    @Test("agrees with Foundation's JSONDecoder on real and generated documents")
    func agreesWithFoundation() throws {
        var documents: [[UInt8]] = []
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for folder in ["Tests/LLMuxTests/Fixtures", "Fuzz/Corpus"] {
            let url = root.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in walker {
                guard let data = try? Data(contentsOf: file) else { continue }
                // Fixture streams hold one JSON document per SSE data line; others are whole documents.
                documents.append(Array(data))
                for line in data.split(separator: UInt8(ascii: "\n")) {
                    let text = String(decoding: line, as: UTF8.self)
                    if text.hasPrefix("data:") { documents.append(Array(text.dropFirst(5).utf8)) }
                    documents.append(Array(line))
                }
            }
        }
        var generator = SplitMix(seed: 0x1_1A7E)
        for _ in 0..<3_000 { documents.append(Array(Self.randomDocument(&generator, depth: 0).utf8)) }
        #expect(documents.count > 3_000)
        var bothAccepted = 0
        for document in documents {
            // The fuzz target's checks: JSONDecoder agrees, skipping agrees, writing back round-trips.
            let violations = JSONParserFuzzTarget.run(document)
            #expect(violations.isEmpty, "\(String(decoding: document.prefix(200), as: UTF8.self)): \(violations)")
            if (try? JSONParser.parse(document)) != nil, (try? JSONDecoder().decode(JSONValue.self, from: Data(document))) != nil {
                bothAccepted += 1
            }
        }
        #expect(bothAccepted > 3_000)
    }

    @Test("the cursor visits members in order, reads typed values and skips the rest")
    func cursor() throws {
        var seen: [String] = []
        var name: String?
        var count: Int?
        var tags: [String] = []
        _ = try JSONParser.read(#" {"skip":{"a":[1,{"b":"\u00e9"}],"c":null}, "name":"x", "count":3.0, "tags":["p","q"], "none":null} "#) {
            parser throws(JSONSyntaxError) in
            try parser.readObject { parser, key throws(JSONSyntaxError) in
                seen.append(key)
                switch key {
                case "name": name = try parser.readString()
                case "count": count = try parser.readInt()
                case "tags": try parser.readArray { parser throws(JSONSyntaxError) in tags.append(try parser.readString() ?? "") }
                case "none": #expect(try parser.readString() == nil)
                default: try parser.skipValue()
                }
            }
        }
        #expect(seen == ["skip", "name", "count", "tags", "none"])
        #expect(name == "x" && count == 3 && tags == ["p", "q"])
        // Wrong types and trailing data are errors, not silent nils.
        #expect(throws: JSONSyntaxError.self) { try JSONParser.read(#""a""#) { parser throws(JSONSyntaxError) in try parser.readInt() } }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.read("1.5") { parser throws(JSONSyntaxError) in try parser.readInt() } }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.read("[1] 2") { parser throws(JSONSyntaxError) in try parser.skipValue() } }
        // null is an absent object unless the caller requires one.
        #expect(try JSONParser.read("null") { parser throws(JSONSyntaxError) in try parser.readObject { _, _ throws(JSONSyntaxError) in } } == false)
        #expect(throws: JSONSyntaxError("expected an object", offset: 1)) {
            try JSONParser.read(" null") { parser throws(JSONSyntaxError) in
                try parser.readObject(allowingNull: false) { _, _ throws(JSONSyntaxError) in }
            }
        }
        #expect(throws: JSONSyntaxError.self) {
            try JSONParser.read(#"{"a":1}"#) { parser throws(JSONSyntaxError) in try parser.readObject { _, _ throws(JSONSyntaxError) in } }
        }
    }

    @Test("skipping a value accepts exactly what parsing it accepts (strings are not UTF-8 checked)")
    func skipAgreesWithParse() {
        var generator = SplitMix(seed: 7)
        var documents = Self.malformedSamples
        for _ in 0..<2_000 {
            let text = Self.randomDocument(&generator, depth: 0)
            documents.append(text)
            // Damage it: drop or duplicate one byte.
            var bytes = Array(text.utf8)
            let at = Int(generator.next(UInt64(bytes.count)))
            if generator.next(2) == 0 { bytes.remove(at: at) } else { bytes.insert(bytes[at], at: at) }
            documents.append(String(decoding: bytes, as: UTF8.self))
        }
        var rejected = 0
        for text in documents {
            let parsed = (try? JSONParser.parse(text)) != nil
            let skipped = (try? JSONParser.read(text) { parser throws(JSONSyntaxError) in try parser.skipValue() }) != nil
            #expect(parsed == skipped, "\(text.debugDescription)")
            if !parsed { rejected += 1 }
        }
        #expect(rejected > 500)
    }

    static let malformedSamples = ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"a\\x\"", "\"\\u12G4\"", "\"a\nb\"", "tru", "nul", "{\"a\" 1}"]

    static func randomDocument(_ g: inout SplitMix, depth: Int) -> String {
        let pick = depth > 4 ? g.next(5) : g.next(8)
        switch pick {
        case 0: return "null"
        case 1: return g.next(2) == 0 ? "true" : "false"
        case 2: return String(Int64(bitPattern: g.raw()) >> Int64(g.next(64)))
        case 3: return String(Double(g.next(2_000_000)) / 1000 - 1000) + (g.next(3) == 0 ? "e\(Int(g.next(40)) - 20)" : "")
        case 4:
            let pieces = ["a", "é", "中", "😀", "\\n", "\\\"", "\\\\", "\\u0041", "\\ud83d\\ude00", " ", "\\t", "/"]
            return "\"" + (0..<g.next(12)).map { _ in pieces[Int(g.next(UInt64(pieces.count)))] }.joined() + "\""
        case 5, 6:
            let items = (0..<g.next(5)).map { _ in randomDocument(&g, depth: depth + 1) }
            return "[" + items.joined(separator: g.next(2) == 0 ? "," : " , ") + "]"
        default:
            let items = (0..<g.next(5)).map { i in "\"k\(i)\":" + randomDocument(&g, depth: depth + 1) }
            return "{" + items.joined(separator: ",\n") + "}"
        }
    }

    /// A small deterministic generator, so that a failure reproduces.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { self.state = seed }
        mutating func raw() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func next(_ bound: UInt64) -> UInt64 { self.raw() % bound }
    }
}
