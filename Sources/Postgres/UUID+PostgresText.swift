public import Foundation

/// The canonical text form of UUIDs (`8-4-4-4-12` hexadecimal digits), read and written without
/// going through `sscanf`/`snprintf`: a worker reads and writes several per job.
extension UUID {
    /// Parses the canonical form in either case; nil for anything else.
    static func parseCanonical(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { bytes -> UUID? in
            guard bytes.count == 36 else {
                return nil
            }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var ok = true
            withUnsafeMutableBytes(of: &value) { out in
                var position = 0
                for index in 0..<16 {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        guard bytes[position] == UInt8(ascii: "-") else {
                            ok = false
                            return
                        }
                        position += 1
                    }
                    guard let high = PostgresBytea.nibble(bytes[position]),
                        let low = PostgresBytea.nibble(bytes[position + 1])
                    else {
                        ok = false
                        return
                    }
                    out[index] = high << 4 | low
                    position += 2
                }
            }
            return ok ? UUID(uuid: value) : nil
        }
    }

    /// The canonical form in lowercase, as PostgreSQL writes it.
    var lowercaseCanonical: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { input in
            String(unsafeUninitializedCapacity: 36) { output in
                var position = 0
                digits.withUTF8Buffer { hex in
                    for index in 0..<16 {
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            output[position] = UInt8(ascii: "-")
                            position += 1
                        }
                        output[position] = hex[Int(input[index] >> 4)]
                        output[position + 1] = hex[Int(input[index] & 0x0f)]
                        position += 2
                    }
                }
                return position
            }
        }
    }
}
