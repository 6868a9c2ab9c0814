/// A minimal, deterministic POSIX ustar writer: regular files only, mode 0644, owner 0:0, one
/// fixed modification time, in the order given, padded to whole 10 KiB records.
enum TarArchive {
    struct PathTooLong: Error {
        var path: String
    }

    static let blockSize = 512
    static let recordSize = 10_240

    static func archive(_ files: [(path: String, contents: [UInt8])], modified: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        for file in files {
            output += try header(path: file.path, size: file.contents.count, modified: modified)
            output += file.contents
            let remainder = file.contents.count % blockSize
            if remainder != 0 { output += [UInt8](repeating: 0, count: blockSize - remainder) }
        }
        output += [UInt8](repeating: 0, count: 2 * blockSize)
        let remainder = output.count % recordSize
        if remainder != 0 { output += [UInt8](repeating: 0, count: recordSize - remainder) }
        return output
    }

    static func header(path: String, size: Int, modified: Int) throws -> [UInt8] {
        let (prefix, name) = try split(path)
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (index, byte) in bytes.enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.utf8), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(max(0, modified), width: 12), at: 136)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)
        block[156] = UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(Array("provisioner".utf8), at: 265)
        put(Array("provisioner".utf8), at: 297)
        put(Array(prefix.utf8), at: 345)
        let checksum = block.reduce(0) { $0 + Int($1) }
        let digits = String(checksum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, UInt8(ascii: " ")], at: 148)
        return block
    }

    /// A path as ustar's prefix (at most 155 bytes) and name (at most 100), split at a `/`.
    static func split(_ path: String) throws -> (prefix: String, name: String) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "/") {
            let prefix = bytes[..<index]
            let name = bytes[(index + 1)...]
            if prefix.count <= 155, name.count <= 100, !name.isEmpty {
                return (String(decoding: prefix, as: UTF8.self), String(decoding: name, as: UTF8.self))
            }
        }
        throw PathTooLong(path: path)
    }
}
