public import Postgres

/// Why a step of ``TenantDatabaseProvisioner`` failed.
///
/// Carries the step, the kind of database failure and its SQLSTATE, never the server's message
/// (it may quote the statement, and a statement may carry a password verifier) and never a
/// password or connection string, so its description is safe in logs and job errors.
public enum TenantDatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The steps, as named in errors and logs.
    public enum Step: String, Sendable {
        case connect
        case stackRole = "stack_role"
        case tenantRole = "tenant_role"
        case database
        case access
        case dropDatabase = "drop_database"
        case dropTenantRole = "drop_tenant_role"
        case dropStackRole = "drop_stack_role"
    }

    /// A name or id that Provisioner would never generate (see ``DatabaseObjectName``).
    case invalidName(String)
    /// A size with no connection limit (see ``TenantDatabase/connectionLimit(forSize:)``).
    case unknownSize(String)
    /// The server could not be reached or is refusing work for now: retry the job later.
    case unavailable(step: Step, sqlState: SQLState?)
    /// The server refused the step (e.g. 42501 when the admin role lacks a privilege).
    case failed(step: Step, sqlState: SQLState?)

    /// Whether running the job again later may succeed without anyone changing anything.
    public var isRetryable: Bool {
        if case .unavailable = self {
            return true
        }
        return false
    }

    /// The error for a ``DatabaseError`` thrown during `step`, without its server message.
    init(step: Step, _ error: DatabaseError) {
        if error.isUnavailable {
            self = .unavailable(step: step, sqlState: error.sqlState)
        } else {
            self = .failed(step: step, sqlState: error.sqlState)
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "not a generated database object name or id: \(name)"
        case .unknownSize(let size):
            return "no tenant connection limit for size \(size)"
        case .unavailable(let step, let sqlState):
            return "tenant database step \(step.rawValue): database unavailable" + (sqlState.map { " (sqlstate \($0.rawValue))" } ?? "")
        case .failed(let step, let sqlState):
            return "tenant database step \(step.rawValue) failed" + (sqlState.map { " (sqlstate \($0.rawValue))" } ?? "")
        }
    }
}
