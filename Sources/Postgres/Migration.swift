/// One migration file, `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// Lowercase hex SHA-256 of the file's bytes.
    public var checksum: String

    public init(version: Int, name: String, sql: String, checksum: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = checksum
    }

    /// `0003_add_tenants`, as in the file name.
    public var label: String {
        Migration.label(version: version, name: name)
    }

    static func label(version: Int, name: String) -> String {
        let digits = String(version)
        let padded = digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
        return "\(padded)_\(name)"
    }

    /// Parses `NNNN_name.sql` (4 or more digits, `_`, then `[a-z0-9_]+`); nil otherwise.
    static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql") else {
            return nil
        }
        let stem = fileName.dropLast(4)
        guard let separator = stem.firstIndex(of: "_") else {
            return nil
        }
        let digits = stem[..<separator]
        let name = stem[stem.index(after: separator)...]
        guard digits.count >= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            !name.isEmpty,
            name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }),
            let version = Int(digits)
        else {
            return nil
        }
        return (version, String(name))
    }
}
