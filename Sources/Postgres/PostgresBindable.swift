public import Foundation

/// A value that can be sent as a text-format query parameter.
///
/// Values are always sent separately from the SQL text (`$1`, `$2`, ...), never interpolated.
public protocol PostgresBindable: Sendable {
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

extension String: PostgresBindable {
    public var postgresText: String { self }
}

extension Substring: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Int: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Bool: PostgresBindable {
    public var postgresText: String { self ? "true" : "false" }
}

extension Double: PostgresBindable {
    /// Shortest representation that reads back to the same value; `NaN`, `Infinity`, `-Infinity`
    /// are spelled the way PostgreSQL's float8 input expects.
    public var postgresText: String {
        if isNaN {
            return "NaN"
        }
        if isInfinite {
            return self < 0 ? "-Infinity" : "Infinity"
        }
        return description
    }
}

extension UUID: PostgresBindable {
    /// Lowercase canonical form.
    public var postgresText: String { lowercaseCanonical }
}

extension Date: PostgresBindable {
    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-22T17:54:06.123456Z`.
    public var postgresText: String { PostgresTimestamp.format(self) }
}

extension Array: PostgresBindable where Element == UInt8 {
    /// bytea hex format: `\x0aff...`.
    public var postgresText: String { PostgresBytea.hexText(self) }
}

extension Data: PostgresBindable {
    /// bytea hex format: `\x0aff...`.
    public var postgresText: String { PostgresBytea.hexText(self) }
}
