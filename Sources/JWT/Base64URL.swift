/// Base64url without padding (RFC 7515 section 2, RFC 4648 section 5).
public enum Base64URL {
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// 0xFF marks a byte outside the alphabet.
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes without padding.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var output = [UInt8]()
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
            output.append(alphabet[Int(chunk >> 6 & 0x3F)])
            output.append(alphabet[Int(chunk & 0x3F)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 0x3F)])
            output.append(alphabet[Int(chunk >> 12 & 0x3F)])
            output.append(alphabet[Int(chunk >> 6 & 0x3F)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict decoding: only `A-Z a-z 0-9 - _`, no padding, no whitespace,
    /// no length of the form 4k+1, and unused trailing bits must be zero
    /// (so every byte string has exactly one accepted encoding).
    public static func decode(_ text: some StringProtocol) throws(JWTError) -> [UInt8] {
        let contiguous: Result<[UInt8], JWTError>? = text.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JWTError) in try decode(buffer) }
        }
        if let contiguous { return try contiguous.get() }
        let bytes = Array(text.utf8)
        let copied: Result<[UInt8], JWTError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JWTError) in try decode(buffer) }
        }
        return try copied.get()
    }

    /// Decodes a slice of an ASCII token without copying it first.
    static func decode(_ slice: ArraySlice<UInt8>) throws(JWTError) -> [UInt8] {
        let outcome: Result<[UInt8], JWTError> = slice.withUnsafeBufferPointer { buffer in
            Result { () throws(JWTError) in try decode(buffer) }
        }
        return try outcome.get()
    }

    static func decode(_ input: UnsafeBufferPointer<UInt8>) throws(JWTError) -> [UInt8] {
        let remainder = input.count % 4
        if remainder == 1 { throw .malformed }
        var output = [UInt8]()
        output.reserveCapacity(input.count * 3 / 4)
        let table = decodeTable
        do {
            var index = 0
            while index + 4 <= input.count {
                let a = table[Int(input[index])]
                let b = table[Int(input[index + 1])]
                let c = table[Int(input[index + 2])]
                let d = table[Int(input[index + 3])]
                if (a | b | c | d) & 0xC0 != 0 { throw .malformed }
                let chunk = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output.append(UInt8(truncatingIfNeeded: chunk >> 16))
                output.append(UInt8(truncatingIfNeeded: chunk >> 8))
                output.append(UInt8(truncatingIfNeeded: chunk))
                index += 4
            }
            switch remainder {
            case 2:
                let a = table[Int(input[index])]
                let b = table[Int(input[index + 1])]
                if (a | b) & 0xC0 != 0 || b & 0x0F != 0 { throw .malformed }
                output.append(a << 2 | b >> 4)
            case 3:
                let a = table[Int(input[index])]
                let b = table[Int(input[index + 1])]
                let c = table[Int(input[index + 2])]
                if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 { throw .malformed }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
            default:
                break
            }
        }
        return output
    }
}
