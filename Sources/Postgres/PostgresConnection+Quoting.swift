internal import CLibPQ

/// Quoting for the statements that take no parameters (`CREATE ROLE`, `CREATE DATABASE`, `GRANT`,
/// ...): names and literals are escaped by libpq for this connection's encoding, never
/// interpolated raw.
extension PostgresConnection {
    /// `text` as a quoted SQL identifier (`PQescapeIdentifier`): `"t_abc"`, with any `"` doubled,
    /// so it names exactly that object whatever it contains.
    public func quoteIdentifier(_ text: String) throws(DatabaseError) -> String {
        try escape(text, what: "an identifier") { handle, pointer, count in
            PQescapeIdentifier(handle, pointer, count)
        }
    }

    /// `text` as a quoted SQL string literal (`PQescapeLiteral`): `'...'`, or `E'...'` when it
    /// holds backslashes. The error never quotes `text`, so it may be a secret.
    public func quoteLiteral(_ text: String) throws(DatabaseError) -> String {
        try escape(text, what: "a literal") { handle, pointer, count in
            PQescapeLiteral(handle, pointer, count)
        }
    }

    /// The SCRAM-SHA-256 verifier of `password` for `role` (`PQencryptPasswordConn`), computed
    /// here, so `CREATE ROLE ... PASSWORD` sends the server, and its statement log, only the
    /// verifier, never the password itself. The error never quotes the password.
    public func scramVerifier(password: String, role: String) throws(DatabaseError) -> String {
        guard !password.isEmpty, !password.utf8.contains(0), !role.utf8.contains(0) else {
            throw DatabaseError(kind: .server, sqlState: "22023", serverMessage: "a password must be non-empty text without NUL")
        }
        return try withHandle { (handle: OpaquePointer) throws(DatabaseError) -> String in
            guard let encrypted = PQencryptPasswordConn(handle, password, role, "scram-sha-256") else {
                throw DatabaseError(kind: .server, serverMessage: "libpq could not compute a password verifier")
            }
            defer { PQfreemem(encrypted) }
            return String(cString: encrypted)
        }
    }

    private func escape(
        _ text: String,
        what: String,
        _ function: (OpaquePointer, UnsafePointer<CChar>, Int) -> UnsafeMutablePointer<CChar>?
    ) throws(DatabaseError) -> String {
        guard !text.utf8.contains(0) else {
            throw DatabaseError(kind: .server, sqlState: "22021", serverMessage: "\(what) cannot contain a NUL byte")
        }
        return try withHandle { (handle: OpaquePointer) throws(DatabaseError) -> String in
            let escaped = text.withCString { pointer in
                function(handle, pointer, text.utf8.count)
            }
            guard let escaped else {
                // libpq's reason (e.g. an invalid multibyte sequence) names no part of the text.
                throw DatabaseError(kind: .server, sqlState: "22021", serverMessage: "libpq could not quote \(what)")
            }
            defer { PQfreemem(escaped) }
            return String(cString: escaped)
        }
    }
}
