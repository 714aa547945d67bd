public import NIOCore

/// Writes compact JSON straight into a `ByteBuffer`.
///
/// Outbound frames are hot (one per delta), so they are written as bytes with
/// their keys in a fixed order instead of going through an `Encoder`. The
/// writer never emits a raw newline: every string is escaped, which is what
/// keeps NDJSON framing intact.
public struct JSONWriter {
    public var buffer: ByteBuffer
    private var needsComma: [Bool] = []

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Appends to `buffer` through a writer. The buffer is moved into the
    /// writer and back, so it is never shared while written: appending a
    /// frame to a large pending buffer costs the frame, not the buffer
    /// (a shared ByteBuffer would be copied whole on the first write).
    public static func append(to buffer: inout ByteBuffer, _ body: (inout JSONWriter) -> Void) {
        var writer = JSONWriter(buffer: buffer)
        buffer = ByteBuffer()
        body(&writer)
        buffer = writer.buffer
    }

    public mutating func beginObject() {
        self.separate()
        self.buffer.writeInteger(UInt8(ascii: "{"))
        self.needsComma.append(false)
    }

    public mutating func endObject() {
        self.needsComma.removeLast()
        self.buffer.writeInteger(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        self.separate()
        self.buffer.writeInteger(UInt8(ascii: "["))
        self.needsComma.append(false)
    }

    public mutating func endArray() {
        self.needsComma.removeLast()
        self.buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// Writes `"key":` inside an object; the next value call completes the pair.
    public mutating func key(_ key: String) {
        self.separate()
        Self.writeEscaped(key, into: &self.buffer)
        self.buffer.writeInteger(UInt8(ascii: ":"))
        // The value that follows belongs to this key: no comma before it.
        self.afterKey = true
    }

    private var afterKey = false

    public mutating func string(_ value: String) {
        self.separate()
        Self.writeEscaped(value, into: &self.buffer)
    }

    public mutating func int(_ value: some BinaryInteger) {
        self.separate()
        self.buffer.writeString(String(value))
    }

    /// Writes the shortest text that reads back as `value`, always with a fraction or an
    /// exponent (`0.0`, `5.0`, `1e-05`), so it parses back as a double and not as an integer:
    /// a client's `"temperature": 0.0` reaches the provider as `0.0`. Not finite: `null`.
    public mutating func double(_ value: Double) {
        self.separate()
        if value.isFinite {
            self.buffer.writeString(String(value))
        } else {
            self.buffer.writeStaticString("null")
        }
    }

    public mutating func bool(_ value: Bool) {
        self.separate()
        if value { self.buffer.writeStaticString("true") } else { self.buffer.writeStaticString("false") }
    }

    public mutating func null() {
        self.separate()
        self.buffer.writeStaticString("null")
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: self.null()
        case .bool(let b): self.bool(b)
        case .int(let i): self.int(i)
        case .double(let d): self.double(d)
        case .bigInteger(let text):
            // Parsed from JSON, so it is a valid JSON integer already.
            self.separate()
            self.buffer.writeString(text)
        case .string(let s): self.string(s)
        case .array(let items):
            self.beginArray()
            for item in items { self.value(item) }
            self.endArray()
        case .object(let object):
            self.beginObject()
            // Sorted so that the same value always produces the same bytes.
            for key in object.keys.sorted() {
                self.key(key)
                self.value(object[key]!)
            }
            self.endObject()
        }
    }

    // Convenience pairs.
    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        self.string(value)
    }

    public mutating func field(_ key: String, _ value: String?) {
        self.key(key)
        if let value { self.string(value) } else { self.null() }
    }

    public mutating func field(_ key: String, _ value: Int) {
        self.key(key)
        self.int(value)
    }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        self.bool(value)
    }

    public mutating func field(_ key: String, _ value: JSONValue) {
        self.key(key)
        self.value(value)
    }

    private mutating func separate() {
        if self.afterKey {
            self.afterKey = false
            return
        }
        guard let last = self.needsComma.last else { return }
        if last {
            self.buffer.writeInteger(UInt8(ascii: ","))
        } else {
            self.needsComma[self.needsComma.count - 1] = true
        }
    }

    /// Writes `value` as a quoted JSON string. Runs of bytes that need no
    /// escaping are copied in one go.
    public static func writeEscaped(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                if runStart < index {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<index]))
                }
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex[Int(byte >> 4)])
                    buffer.writeInteger(hex[Int(byte & 0x0F)])
                }
                index += 1
                runStart = index
            }
            if runStart < bytes.count {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<bytes.count]))
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// The compact JSON text of this value.
    public var jsonString: String {
        var writer = JSONWriter(buffer: ByteBuffer())
        writer.value(self)
        return String(buffer: writer.buffer)
    }
}
