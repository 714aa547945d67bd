#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif
package import NIOHTTP1

/// Reads how long an upstream asks to be left alone, from `retry-after-ms`,
/// `retry-after` (seconds or an HTTP date) or `x-ratelimit-reset-*` durations
/// such as `6m0s`, `1.5s` or `250ms`.
package enum RetryAfter {
    package static func milliseconds(from headers: HTTPHeaders, now: Date = Date()) -> Int? {
        if let value = headers.first(name: "retry-after-ms"), let ms = Double(value.trimmingSpaces), ms >= 0 {
            return Int(ms.rounded(.up))
        }
        if let value = headers.first(name: "retry-after") {
            let text = value.trimmingSpaces
            if let seconds = Double(text), seconds >= 0 {
                return Int((seconds * 1000).rounded(.up))
            }
            if let date = parseHTTPDate(text) {
                return max(0, Int((date.timeIntervalSince(now) * 1000).rounded(.up)))
            }
        }
        let resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"].compactMap { name in
            headers.first(name: name).flatMap { parseDuration($0.trimmingSpaces) }
        }
        return resets.max()
    }

    /// Parses Go-style durations as sent by OpenAI: `1h2m3.5s`, `6m0s`, `20ms`, `0.5s`.
    package static func parseDuration(_ text: String) -> Int? {
        var totalMs = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let c = text[index]
            if c.isNumber || c == "." {
                number.append(c)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            let rest = text[index...]
            let unitMs: Double
            if rest.hasPrefix("ms") {
                unitMs = 1
                index = text.index(index, offsetBy: 2)
            } else if c == "h" {
                unitMs = 3_600_000
                index = text.index(after: index)
            } else if c == "m" {
                unitMs = 60_000
                index = text.index(after: index)
            } else if c == "s" {
                unitMs = 1000
                index = text.index(after: index)
            } else {
                return nil
            }
            totalMs += value * unitMs
            number = ""
            sawUnit = true
        }
        if !number.isEmpty {
            // A bare number is seconds.
            guard let value = Double(number) else { return nil }
            totalMs += value * 1000
            sawUnit = true
        }
        return sawUnit ? Int(totalMs.rounded(.up)) : nil
    }

    /// IMF-fixdate, as in `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func parseHTTPDate(_ text: String) -> Date? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT",
            let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let m = month + 1
        let y = m <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + clock[0] * 3600 + clock[1] * 60 + clock[2]
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
