internal import Foundation

/// Conversion between `Date` and PostgreSQL timestamp text, at microsecond precision.
///
/// Done by hand (proleptic Gregorian calendar, UTC) rather than with a `DateFormatter`: it is
/// exact to the microsecond, allocation-light, and independent of the process locale.
enum PostgresTimestamp {
    private static let microsecondsPerSecond: Int64 = 1_000_000
    private static let microsecondsPerDay: Int64 = 86_400 * microsecondsPerSecond
    /// 2001-01-01T00:00:00Z (`Date`'s reference date) in microseconds since 1970.
    private static let referenceDateMicroseconds: Int64 = 978_307_200 * microsecondsPerSecond

    /// `2026-11-22T17:54:06.123456Z`; `infinity` / `-infinity` for non-finite dates.
    static func format(_ date: Date) -> String {
        let sinceReference = (date.timeIntervalSinceReferenceDate * 1_000_000).rounded()
        guard sinceReference.isFinite, abs(sinceReference) < 1.0e17 else {
            return sinceReference < 0 ? "-infinity" : "infinity"
        }
        let total = Int64(sinceReference) + referenceDateMicroseconds
        let (days, microsecondOfDay) = floorDivide(total, microsecondsPerDay)
        let (year, month, day) = civil(fromDays: days)
        let secondOfDay = microsecondOfDay / microsecondsPerSecond
        let fraction = microsecondOfDay % microsecondsPerSecond

        var text = ""
        text.reserveCapacity(32)
        let era = year <= 0 ? " BC" : ""
        text += pad(year <= 0 ? 1 - year : year, 4)
        text += "-" + pad(month, 2) + "-" + pad(day, 2)
        text +=
            "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":"
            + pad(secondOfDay % 60, 2)
        text += "." + pad(fraction, 6) + "Z" + era
        return text
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][Z|±HH[:MM[:SS]]][ BC]` (a `T` may separate date and
    /// time). Returns nil for anything else, including `infinity`.
    static func parse(_ text: String) -> Date? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.number(minDigits: 4, maxDigits: 7), scanner.skip("-"),
            let month = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip("-"),
            let day = scanner.number(minDigits: 2, maxDigits: 2),
            scanner.skip(" ") || scanner.skip("T"),
            let hour = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip(":"),
            let minute = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip(":"),
            let second = scanner.number(minDigits: 2, maxDigits: 2)
        else {
            return nil
        }
        guard (1...12).contains(month), (1...31).contains(day), (0...24).contains(hour),
            (0...59).contains(minute), (0...60).contains(second)
        else {
            return nil
        }

        var fraction: Int64 = 0
        if scanner.skip(".") {
            var digits = 0
            while let digit = scanner.digit() {
                if digits < 6 {
                    fraction = fraction * 10 + digit
                }
                digits += 1
            }
            guard digits > 0 else {
                return nil
            }
            for _ in min(digits, 6)..<6 {
                fraction *= 10
            }
        }

        var offsetSeconds: Int64 = 0
        if scanner.skip("Z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(minDigits: 2, maxDigits: 2) else {
                return nil
            }
            var minutes: Int64 = 0
            var seconds: Int64 = 0
            if scanner.skip(":") {
                guard let value = scanner.number(minDigits: 2, maxDigits: 2) else {
                    return nil
                }
                minutes = value
                if scanner.skip(":") {
                    guard let value = scanner.number(minDigits: 2, maxDigits: 2) else {
                        return nil
                    }
                    seconds = value
                }
            }
            offsetSeconds = sign * (hours * 3600 + minutes * 60 + seconds)
        }
        let isBeforeChrist = scanner.skip(" BC")
        guard scanner.isAtEnd else {
            return nil
        }

        let astronomicalYear = isBeforeChrist ? 1 - year : year
        let days = days(fromCivilYear: astronomicalYear, month: month, day: day)
        let secondsOfDay = hour * 3600 + minute * 60 + second
        let total =
            (days * 86_400 + secondsOfDay - offsetSeconds) * microsecondsPerSecond + fraction
        return Date(
            timeIntervalSinceReferenceDate: Double(total - referenceDateMicroseconds) / 1_000_000
        )
    }

    // MARK: - Calendar arithmetic (days since 1970-01-01, proleptic Gregorian)

    private static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = (month + 9) % 12
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra =
            (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A cursor over ASCII bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        var isAtEnd: Bool { index == bytes.count }

        mutating func digit() -> Int64? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"),
                bytes[index] <= UInt8(ascii: "9")
            else {
                return nil
            }
            defer { index += 1 }
            return Int64(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
            let start = index
            var value: Int64 = 0
            while index - start < maxDigits, let digit = digit() {
                value = value * 10 + digit
            }
            guard index - start >= minDigits else {
                index = start
                return nil
            }
            return value
        }

        mutating func skip(_ literal: String) -> Bool {
            let utf8 = Array(literal.utf8)
            guard bytes.count - index >= utf8.count,
                bytes[index..<(index + utf8.count)].elementsEqual(utf8)
            else {
                return false
            }
            index += utf8.count
            return true
        }

        mutating func sign() -> Int64? {
            if skip("+") {
                return 1
            }
            if skip("-") {
                return -1
            }
            return nil
        }
    }
}
