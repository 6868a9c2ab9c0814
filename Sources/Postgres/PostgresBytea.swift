/// bytea text encoding and decoding.
enum PostgresBytea {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hexText(_ bytes: some Sequence<UInt8>) -> String {
        var utf8: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        utf8.reserveCapacity(2 + bytes.underestimatedCount * 2)
        for byte in bytes {
            utf8.append(hexDigits[Int(byte >> 4)])
            utf8.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Decodes either output format; nil when the text is malformed.
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x") {
            return decodeHex(utf8[2...])
        }
        return decodeEscape(utf8)
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else {
            return nil
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                return nil
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// The value of one hexadecimal digit (either case).
    static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The legacy `bytea_output = escape` format: `\\` for a backslash, `\ooo` for other bytes.
    private static func decodeEscape(_ utf8: [UInt8]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                index += 1
                continue
            }
            if index + 1 < utf8.count, utf8[index + 1] == UInt8(ascii: "\\") {
                bytes.append(byte)
                index += 2
                continue
            }
            guard index + 3 < utf8.count else {
                return nil
            }
            var value = 0
            for offset in 1...3 {
                let digit = utf8[index + offset]
                guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else {
                    return nil
                }
                value = value * 8 + Int(digit - UInt8(ascii: "0"))
            }
            guard value <= 255 else {
                return nil
            }
            bytes.append(UInt8(value))
            index += 4
        }
        return bytes
    }
}
