/// An error from the database layer.
///
/// `description` names only the kind, the SQLSTATE and the constraint (and the column for
/// decoding errors), so it is safe to log at any level. The server's own message may quote
/// data from the failing row; it is kept apart in ``serverMessage`` for debug-level logging.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No connection could be established (server down, refused, authentication failed).
        case connectionFailed
        /// An established connection broke.
        case connectionLost
        /// No pooled connection became free within `acquireTimeout`.
        case poolTimeout
        /// The server answered with an error; see ``DatabaseError/sqlState``.
        case server
        /// A value could not be decoded into the requested Swift type, or a column is missing or NULL.
        case decoding
        /// The pool has been closed.
        case closed
    }

    public var kind: Kind
    public var sqlState: SQLState?
    public var constraint: String?
    public var table: String?
    public var column: String?
    /// The server's (or libpq's, or the decoder's) message. May contain data: log at debug level only.
    public var serverMessage: String?

    public init(
        kind: Kind,
        sqlState: SQLState? = nil,
        constraint: String? = nil,
        table: String? = nil,
        column: String? = nil,
        serverMessage: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.table = table
        self.column = column
        self.serverMessage = serverMessage
    }

    /// True when the database could not be reached or is refusing work for now (as opposed to the
    /// request being wrong): callers answer 503 and try again later.
    public var isUnavailable: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout, .closed:
            return true
        case .server, .decoding:
            return sqlState?.meansUnavailable ?? false
        }
    }

    public var description: String {
        var parts = ["\(kind)"]
        if let sqlState {
            parts.append("sqlstate \(sqlState.rawValue)")
        }
        if let constraint {
            parts.append("constraint \(constraint)")
        }
        if kind == .decoding, let column {
            parts.append("column \(column)")
        }
        return "DatabaseError(\(parts.joined(separator: ", ")))"
    }
}
