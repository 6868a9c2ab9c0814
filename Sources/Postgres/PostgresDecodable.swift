public import Foundation

/// A value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    init(postgresText: String) throws
}

/// Thrown by the built-in ``PostgresDecodable`` conformances; ``PostgresRow`` turns it into a
/// ``DatabaseError`` of kind `.decoding`.
struct PostgresDecodingFailure: Error {
    var expected: String
}

extension String: PostgresDecodable {
    public init(postgresText: String) {
        self = postgresText
    }
}

extension Int: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int(postgresText) else {
            throw PostgresDecodingFailure(expected: "Int")
        }
        self = value
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int64(postgresText) else {
            throw PostgresDecodingFailure(expected: "Int64")
        }
        self = value
    }
}

extension Int32: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = Int32(postgresText) else {
            throw PostgresDecodingFailure(expected: "Int32")
        }
        self = value
    }
}

extension Bool: PostgresDecodable {
    /// Accepts PostgreSQL's `t`/`f` output (and `true`/`false`).
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure(expected: "Bool")
        }
    }
}

extension Double: PostgresDecodable {
    public init(postgresText: String) throws {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(postgresText) else {
                throw PostgresDecodingFailure(expected: "Double")
            }
            self = value
        }
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = UUID.parseCanonical(postgresText) else {
            throw PostgresDecodingFailure(expected: "UUID")
        }
        self = value
    }
}

extension Date: PostgresDecodable {
    /// Parses `timestamptz` output such as `2026-11-22 17:54:06.123456+00` (fraction and offset
    /// minutes optional; a missing offset is read as UTC). The ISO 8601 form with `T` and `Z` is
    /// accepted as well.
    public init(postgresText: String) throws {
        guard let value = PostgresTimestamp.parse(postgresText) else {
            throw PostgresDecodingFailure(expected: "Date")
        }
        self = value
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// Decodes bytea output in hex (`\x...`, the default) or escape format.
    public init(postgresText: String) throws {
        guard let bytes = PostgresBytea.decode(postgresText) else {
            throw PostgresDecodingFailure(expected: "[UInt8]")
        }
        self = bytes
    }
}

extension Data: PostgresDecodable {
    /// Decodes bytea output in hex (`\x...`, the default) or escape format.
    public init(postgresText: String) throws {
        guard let bytes = PostgresBytea.decode(postgresText) else {
            throw PostgresDecodingFailure(expected: "Data")
        }
        self = Data(bytes)
    }
}
