/// A five-character PostgreSQL error code (SQLSTATE), as reported in `PG_DIAG_SQLSTATE`.
///
/// Compare against the named codes instead of matching server message text:
/// `if error.sqlState == .uniqueViolation { ... }`.
public struct SQLState: Sendable, Hashable, RawRepresentable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// The two-character class, e.g. `"23"` for integrity constraint violations.
    public var errorClass: String {
        String(rawValue.prefix(2))
    }

    public var description: String {
        rawValue
    }

    // Class 08: connection exception
    public static let connectionException: SQLState = "08000"
    public static let connectionFailure: SQLState = "08006"
    // Class 0A: feature not supported (also "cached plan must not change result type")
    public static let featureNotSupported: SQLState = "0A000"
    // Class 22: data exception
    public static let stringDataRightTruncation: SQLState = "22001"
    public static let numericValueOutOfRange: SQLState = "22003"
    public static let invalidDatetimeFormat: SQLState = "22007"
    public static let divisionByZero: SQLState = "22012"
    public static let invalidTextRepresentation: SQLState = "22P02"
    // Class 23: integrity constraint violation
    public static let notNullViolation: SQLState = "23502"
    public static let foreignKeyViolation: SQLState = "23503"
    public static let uniqueViolation: SQLState = "23505"
    public static let checkViolation: SQLState = "23514"
    public static let exclusionViolation: SQLState = "23P01"
    // Class 25: invalid transaction state
    public static let readOnlySQLTransaction: SQLState = "25006"
    public static let inFailedSQLTransaction: SQLState = "25P02"
    // Class 28: invalid authorization specification
    public static let invalidAuthorizationSpecification: SQLState = "28000"
    public static let invalidPassword: SQLState = "28P01"
    // Class 3D: invalid catalog name (database does not exist)
    public static let invalidCatalogName: SQLState = "3D000"
    // Class 40: transaction rollback
    public static let serializationFailure: SQLState = "40001"
    public static let deadlockDetected: SQLState = "40P01"
    // Class 42: syntax error or access rule violation
    public static let insufficientPrivilege: SQLState = "42501"
    public static let syntaxError: SQLState = "42601"
    public static let undefinedColumn: SQLState = "42703"
    public static let undefinedObject: SQLState = "42704"
    public static let duplicateObject: SQLState = "42710"
    public static let undefinedTable: SQLState = "42P01"
    public static let duplicateDatabase: SQLState = "42P04"
    public static let duplicateSchema: SQLState = "42P06"
    public static let duplicateTable: SQLState = "42P07"
    // Class 53: insufficient resources
    public static let tooManyConnections: SQLState = "53300"
    // Class 55: object not in prerequisite state
    public static let objectInUse: SQLState = "55006"
    public static let lockNotAvailable: SQLState = "55P03"
    // Class 57: operator intervention
    public static let queryCanceled: SQLState = "57014"
    public static let adminShutdown: SQLState = "57P01"
    public static let crashShutdown: SQLState = "57P02"
    public static let cannotConnectNow: SQLState = "57P03"

    /// Whether a transaction that failed with this code can simply be run again.
    var isRetryableTransactionFailure: Bool {
        self == .serializationFailure || self == .deadlockDetected
    }

    /// Whether this code means the server is unavailable rather than the request being wrong.
    var meansUnavailable: Bool {
        errorClass == "08" || self == .adminShutdown || self == .crashShutdown
            || self == .cannotConnectNow || self == .tooManyConnections
    }
}
