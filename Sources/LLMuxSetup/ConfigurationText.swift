import Foundation
import LLMuxWire

/// JSON as configuration files hold it: indented, keys sorted, slashes not escaped.
enum JSONText {
    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: it holds only JSON.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// A TOML basic string.
enum TOMLText {
    static func string(_ text: String) -> String {
        "\"" + CEscaped.escape(text) + "\""
    }
}

/// A YAML double-quoted scalar (its escapes are JSON's).
enum YAMLText {
    static func string(_ text: String) -> String {
        "\"" + CEscaped.escape(text) + "\""
    }
}

/// A Lua string literal (control characters as Lua's decimal escapes).
enum LuaText {
    static func string(_ text: String) -> String {
        "\"" + CEscaped.escape(text, control: { String(format: "\\%03d", $0) }) + "\""
    }
}

/// Emacs Lisp strings and symbols.
enum LispText {
    static func string(_ text: String) -> String {
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    /// A symbol whose name is `text`: characters the reader would take otherwise are escaped.
    static func symbol(_ text: String) -> String {
        var out = ""
        for character in text {
            if character.isWhitespace || "()[]\"';`,#?\\.".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

/// A POSIX shell word in single quotes.
enum ShellText {
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Backslash escapes shared by TOML basic strings, YAML double-quoted scalars and Lua strings.
enum CEscaped {
    static func escape(_ text: String, control: (UInt32) -> String = { String(format: "\\u%04X", $0) }) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += control(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
