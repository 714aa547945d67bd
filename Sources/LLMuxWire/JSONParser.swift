/// Parses JSON text (RFC 8259) straight from UTF-8 bytes into a `JSONValue`.
///
/// This is the decoder of the hot path: every upstream chunk and every frame
/// a client reads goes through it. Foundation's `JSONDecoder` with `Codable`
/// shapes cost 57 % of the relay's CPU in the profile of benchmark b (generic
/// metadata lookups, keyed containers, one `Data` copy per chunk); this reads
/// each byte once and allocates only the values it returns.
///
/// Strictness matches the RFC: no trailing commas (Foundation's `JSONDecoder`
/// accepts one; this does not), no comments, no leading
/// zeros, no bare control characters in strings, nothing after the value but
/// whitespace, and strings must be valid UTF-8. One deliberate leniency: an
/// escaped lone surrogate (`"\ud83d"`, which models produce when an emoji is
/// split across chunks) becomes U+FFFD instead of failing the whole document.
public struct JSONParser {
    /// Nesting deeper than this is refused (as `JSONDecoder` does) so that a
    /// hostile document cannot exhaust the stack.
    public static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses one JSON document that spans all of `bytes`.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        try Self.read(bytes) { parser throws(JSONSyntaxError) in try parser.parseValue() }
    }

    /// Parses one JSON document held in a string.
    public static func parse(_ string: String) throws(JSONSyntaxError) -> JSONValue {
        try Self.parse(string.utf8)
    }

    // MARK: - Reading without building a tree

    /// Runs `body` over a cursor on the document in `string`, then checks that
    /// nothing but whitespace follows what `body` read. Decoders on the hot
    /// path use this to visit the fields they need and skip the rest without
    /// allocating them (no dictionary, no strings for skipped values).
    public static func read<T>(
        _ string: String,
        _ body: (inout JSONParser) throws(JSONSyntaxError) -> T
    ) throws(JSONSyntaxError) -> T {
        try Self.read(string.utf8, body)
    }

    /// `read` over bytes; bytes that are not contiguous in memory are copied first.
    public static func read<T>(
        _ bytes: some Collection<UInt8>,
        _ body: (inout JSONParser) throws(JSONSyntaxError) -> T
    ) throws(JSONSyntaxError) -> T {
        let result: Result<T, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONSyntaxError) -> T in try Self.document(buffer, body) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> T in try Self.document(buffer, body) }
        }.get()
    }

    /// One document: whitespace, what `body` reads, whitespace, and nothing else.
    private static func document<T>(
        _ buffer: UnsafeBufferPointer<UInt8>,
        _ body: (inout JSONParser) throws(JSONSyntaxError) -> T
    ) throws(JSONSyntaxError) -> T {
        var parser = JSONParser(bytes: buffer)
        parser.skipWhitespace()
        let value = try body(&parser)
        parser.skipWhitespace()
        guard parser.index == buffer.count else {
            throw JSONSyntaxError("unexpected data after the JSON value", offset: parser.index)
        }
        return value
    }

    /// Whether the next value is an object (nothing is consumed).
    public var nextIsObject: Bool { self.peek() == UInt8(ascii: "{") }

    /// Whether the next value is an array (nothing is consumed).
    public var nextIsArray: Bool { self.peek() == UInt8(ascii: "[") }

    /// Whether the next value is `null` (consumed if so).
    public mutating func readNull() throws(JSONSyntaxError) -> Bool {
        guard self.peek() == UInt8(ascii: "n") else { return false }
        try self.expectLiteral("null")
        self.skipWhitespace()
        return true
    }

    /// Visits each member of the object that comes next; `body` must read or
    /// skip the member's value. `null` is an absent object (no visit, `false`)
    /// unless `allowingNull` is false, where it is an error like any non-object.
    @discardableResult
    public mutating func readObject(
        allowingNull: Bool = true,
        _ body: (inout JSONParser, String) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> Bool {
        try self.readContainer(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), kind: "an object", allowingNull: allowingNull) {
            parser throws(JSONSyntaxError) in
            guard parser.peek() == UInt8(ascii: "\"") else { throw parser.error("expected a string key") }
            let key = try parser.parseString()
            parser.skipWhitespace()
            guard parser.peek() == UInt8(ascii: ":") else { throw parser.error("expected ':' after a key") }
            parser.index += 1
            parser.skipWhitespace()
            try body(&parser, key)
        }
    }

    /// Visits each element of the array that comes next; `body` must read or
    /// skip it. `null` is an absent array: no visit, `false`.
    @discardableResult
    public mutating func readArray(_ body: (inout JSONParser) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) -> Bool {
        try self.readContainer(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), kind: "an array", allowingNull: true, body)
    }

    /// The loop both containers share: `open`, entries separated by commas, `close`.
    private mutating func readContainer(
        open: UInt8,
        close: UInt8,
        kind: StaticString,
        allowingNull: Bool,
        _ entry: (inout JSONParser) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> Bool {
        if allowingNull, try self.readNull() { return false }
        guard self.peek() == open else { throw self.error("expected \(kind)") }
        try self.enterContainer()
        self.index += 1
        self.skipWhitespace()
        if self.peek() != close {
            while true {
                try entry(&self)
                self.skipWhitespace()
                guard self.peek() == UInt8(ascii: ",") else { break }
                self.index += 1
                self.skipWhitespace()
            }
            guard self.peek() == close else {
                throw self.error("expected ',' or '\(Character(Unicode.Scalar(close)))' in \(kind)")
            }
        }
        self.index += 1
        self.depth -= 1
        self.skipWhitespace()
        return true
    }

    /// A string, or `nil` for `null`; anything else is an error.
    public mutating func readString() throws(JSONSyntaxError) -> String? {
        if try self.readNull() { return nil }
        guard self.peek() == UInt8(ascii: "\"") else { throw self.error("expected a string") }
        return try self.parseString()
    }

    /// An integer (a number with a zero fraction counts), or `nil` for `null`.
    public mutating func readInt() throws(JSONSyntaxError) -> Int? {
        if try self.readNull() { return nil }
        let start = self.index
        guard let first = self.peek(), first == UInt8(ascii: "-") || Self.isDigit(first) else { throw self.error("expected a number") }
        guard let value = try self.parseNumber().intValue else { throw JSONSyntaxError("expected an integer", offset: start) }
        return Int(value)
    }

    /// The next value as a tree.
    public mutating func readValue() throws(JSONSyntaxError) -> JSONValue {
        try self.parseValue()
    }

    /// Steps over the next value, checking its syntax, allocating nothing for
    /// it (strings are checked for escapes and control characters, not
    /// decoded).
    public mutating func skipValue() throws(JSONSyntaxError) {
        guard let byte = self.peek() else { throw self.error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): try self.readObject { parser, _ throws(JSONSyntaxError) in try parser.skipValue() }
        case UInt8(ascii: "["): try self.readArray { parser throws(JSONSyntaxError) in try parser.skipValue() }
        case UInt8(ascii: "\""): try self.skipString()
        case UInt8(ascii: "t"): try self.expectLiteral("true")
        case UInt8(ascii: "f"): try self.expectLiteral("false")
        case UInt8(ascii: "n"): try self.expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try self.parseNumber()
        default: throw self.error("unexpected character")
        }
    }

    private mutating func skipString() throws(JSONSyntaxError) {
        let start = self.index
        self.index += 1
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            switch byte {
            case UInt8(ascii: "\""):
                self.index += 1
                return
            case UInt8(ascii: "\\"):
                self.index += 1
                switch self.peek() {
                case UInt8(ascii: "u"):
                    self.index += 1
                    _ = try self.parseHex4()
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    self.index += 1
                default:
                    self.index -= 1
                    throw self.error("invalid escape")
                }
            case 0..<0x20:
                throw self.error("a control character must be escaped in a string")
            default:
                self.index += 1
            }
        }
        throw JSONSyntaxError("unterminated string", offset: start)
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard self.index < self.bytes.count else { throw self.error("unexpected end of input") }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"): return try self.parseObject()
        case UInt8(ascii: "["): return try self.parseArray()
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"):
            try self.expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try self.expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try self.expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try self.parseNumber()
        default:
            throw self.error("unexpected character")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        var object: [String: JSONValue] = [:]
        try self.readObject { parser, key throws(JSONSyntaxError) in object[key] = try parser.parseValue() }
        return .object(object)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        var array: [JSONValue] = []
        try self.readArray { parser throws(JSONSyntaxError) in array.append(try parser.parseValue()) }
        return .array(array)
    }

    private mutating func enterContainer() throws(JSONSyntaxError) {
        self.depth += 1
        guard self.depth <= Self.maximumDepth else {
            throw self.error("nested deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard self.bytes.count - self.index >= count else { throw self.error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where self.bytes[self.index + offset] != expected[offset] {
            throw self.error("unexpected character")
        }
        self.index += count
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = self.index
        var negative = false
        if self.bytes[self.index] == UInt8(ascii: "-") {
            negative = true
            self.index += 1
        }
        // Integer part: 0, or a non-zero digit followed by digits.
        guard let first = self.peek(), Self.isDigit(first) else { throw self.error("expected a digit") }
        var magnitude: UInt64 = 0
        var overflow = false
        if first == UInt8(ascii: "0") {
            self.index += 1
            if let next = self.peek(), Self.isDigit(next) { throw self.error("a number must not start with 0") }
        } else {
            while let digit = self.peek(), Self.isDigit(digit) {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit &- UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                magnitude = sum
                self.index += 1
            }
        }
        var integral = true
        if self.peek() == UInt8(ascii: ".") {
            integral = false
            self.index += 1
            guard let digit = self.peek(), Self.isDigit(digit) else { throw self.error("expected a digit after '.'") }
            while let digit = self.peek(), Self.isDigit(digit) { self.index += 1 }
        }
        if let e = self.peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            integral = false
            self.index += 1
            if let sign = self.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { self.index += 1 }
            guard let digit = self.peek(), Self.isDigit(digit) else { throw self.error("expected a digit in the exponent") }
            while let digit = self.peek(), Self.isDigit(digit) { self.index += 1 }
        }
        if integral && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
                if magnitude == UInt64(Int64.max) + 1 { return .int(Int64.min) }
            } else if magnitude <= UInt64(Int64.max) {
                return .int(Int64(magnitude))
            }
        }
        // Fractions and exponents: the standard library's correctly rounded conversion (the
        // text is ASCII by construction). Integers beyond Int64 keep their text.
        let text = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
        if integral { return .bigInteger(text) }
        guard let double = Double(text), double.isFinite else {
            throw JSONSyntaxError("number out of range", offset: start)
        }
        return .double(double)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Strings

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        self.index += 1  // opening quote
        let start = self.index
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                self.index += 1
                return try Self.validated(raw, offset: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw self.error("a control character must be escaped in a string") }
            self.index += 1
        }
        guard self.index < self.bytes.count else { throw JSONSyntaxError("unterminated string", offset: start - 1) }
        // Slow path: copy what was scanned, then decode escapes as they come.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(self.index - start + 16)
        utf8.append(contentsOf: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]))
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            switch byte {
            case UInt8(ascii: "\""):
                self.index += 1
                return try utf8.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) -> String in
                    try Self.validated(buffer, offset: start)
                }
            case UInt8(ascii: "\\"):
                self.index += 1
                try self.appendEscape(to: &utf8)
            case 0..<0x20:
                throw self.error("a control character must be escaped in a string")
            default:
                utf8.append(byte)
                self.index += 1
            }
        }
        throw JSONSyntaxError("unterminated string", offset: start - 1)
    }

    private static func validated(_ raw: UnsafeBufferPointer<UInt8>, offset: Int) throws(JSONSyntaxError) -> String {
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw JSONSyntaxError("a string is not valid UTF-8", offset: offset)
        }
        return string
    }

    private mutating func appendEscape(to utf8: inout [UInt8]) throws(JSONSyntaxError) {
        guard let escape = self.peek() else { throw self.error("unterminated escape") }
        self.index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try self.parseHex4()
            var scalar: Unicode.Scalar?
            if UTF16.isLeadSurrogate(unit) {
                // A pair is two escapes in a row; anything else leaves the lead alone.
                if self.bytes.count - self.index >= 6, self.bytes[self.index] == UInt8(ascii: "\\"),
                    self.bytes[self.index + 1] == UInt8(ascii: "u")
                {
                    let save = self.index
                    self.index += 2
                    let trail = try self.parseHex4()
                    if UTF16.isTrailSurrogate(trail) {
                        let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(trail) - 0xDC00)
                        scalar = Unicode.Scalar(value)
                    } else {
                        self.index = save  // the next escape is decoded on its own
                    }
                }
            } else if !UTF16.isTrailSurrogate(unit) {
                scalar = Unicode.Scalar(unit)
            }
            let decoded = scalar ?? "\u{FFFD}"
            utf8.append(contentsOf: UTF8.encode(decoded)!)
        default:
            self.index -= 2  // report the backslash
            throw self.error("invalid escape")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt16 {
        guard self.bytes.count - self.index >= 4 else { throw self.error("unterminated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | UInt16(digit)
            self.index += 1
        }
        return value
    }

    // MARK: - Bytes

    private func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): self.index += 1
            default: return
            }
        }
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message, offset: self.index)
    }
}

/// Why a document is not JSON, and the byte offset where that was found.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(self.message) at byte \(self.offset)" }
}
