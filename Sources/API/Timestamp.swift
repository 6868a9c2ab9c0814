public import Foundation

/// RFC 3339 UTC timestamps with millisecond precision, e.g. `2026-11-22T17:54:06.123Z`.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let (wholeSeconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        var seconds = time_t(wholeSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = [UInt8]()
        text.reserveCapacity(24)
        append(Int(parts.tm_year) + 1900, width: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, width: 2, to: &text)
        text.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), width: 2, to: &text)
        text.append(UInt8(ascii: "T"))
        append(Int(parts.tm_hour), width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), width: 2, to: &text)
        text.append(UInt8(ascii: "."))
        append(Int(fraction < 0 ? fraction + 1000 : fraction), width: 3, to: &text)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends `value` in decimal, zero-padded to `width` digits.
    private static func append(_ value: Int, width: Int, to text: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
