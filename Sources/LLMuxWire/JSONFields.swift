/// Typed reads of one JSON object's fields, for decoders that build their own
/// types from a parsed `JSONValue` (upstream chunks, daemon frames).
///
/// A field that is absent or `null` reads as `nil`; a field of the wrong type
/// throws, naming the field, so a malformed document is reported rather than
/// half read.
public struct JSONFields: Sendable {
    public let object: [String: JSONValue]

    public init(_ object: [String: JSONValue]) {
        self.object = object
    }

    /// The fields of `value`, or `nil` when it is not an object.
    public init?(_ value: JSONValue) {
        guard case .object(let object) = value else { return nil }
        self.object = object
    }

    public subscript(key: String) -> JSONValue? {
        self.object[key]
    }

    public func string(_ key: String) throws(JSONFieldError) -> String? {
        switch self.object[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw JSONFieldError(key: key, expected: "string", got: other.typeName)
        }
    }

    /// An integer; a number with a zero fraction (`3.0`) counts as one.
    public func int(_ key: String) throws(JSONFieldError) -> Int? {
        switch self.object[key] {
        case nil, .null?: return nil
        case let value?:
            guard let i = value.intValue else { throw JSONFieldError(key: key, expected: "integer", got: value.typeName) }
            return Int(i)
        }
    }

    public func double(_ key: String) throws(JSONFieldError) -> Double? {
        switch self.object[key] {
        case nil, .null?: return nil
        case let value?:
            guard let d = value.doubleValue else { throw JSONFieldError(key: key, expected: "number", got: value.typeName) }
            return d
        }
    }

    public func bool(_ key: String) throws(JSONFieldError) -> Bool? {
        switch self.object[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        case let other?: throw JSONFieldError(key: key, expected: "boolean", got: other.typeName)
        }
    }

    public func fields(_ key: String) throws(JSONFieldError) -> JSONFields? {
        switch self.object[key] {
        case nil, .null?: return nil
        case .object(let o)?: return JSONFields(o)
        case let other?: throw JSONFieldError(key: key, expected: "object", got: other.typeName)
        }
    }

    public func array(_ key: String) throws(JSONFieldError) -> [JSONValue]? {
        switch self.object[key] {
        case nil, .null?: return nil
        case .array(let a)?: return a
        case let other?: throw JSONFieldError(key: key, expected: "array", got: other.typeName)
        }
    }

    /// An array whose elements must all be objects.
    public func fieldsArray(_ key: String) throws(JSONFieldError) -> [JSONFields]? {
        guard let array = try self.array(key) else { return nil }
        var result: [JSONFields] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard case .object(let o) = element else {
                throw JSONFieldError(key: key, expected: "array of objects", got: "array holding a \(element.typeName)")
            }
            result.append(JSONFields(o))
        }
        return result
    }

    /// An array whose elements must all be strings.
    public func strings(_ key: String) throws(JSONFieldError) -> [String]? {
        guard let array = try self.array(key) else { return nil }
        var result: [String] = []
        result.reserveCapacity(array.count)
        for element in array {
            guard case .string(let s) = element else {
                throw JSONFieldError(key: key, expected: "array of strings", got: "array holding a \(element.typeName)")
            }
            result.append(s)
        }
        return result
    }
}

/// A field of a JSON object had the wrong type.
public struct JSONFieldError: Error, Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var expected: String
    public var got: String

    public init(key: String, expected: String, got: String) {
        self.key = key
        self.expected = expected
        self.got = got
    }

    public var description: String { "field '\(self.key)' must be \(self.expected), got \(self.got)" }
}
