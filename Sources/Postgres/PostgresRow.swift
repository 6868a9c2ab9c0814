/// One row of a ``PostgresRows``. Columns are looked up by name in constant time.
public struct PostgresRow: Sendable {
    // Usable from inlinable code: `decode` is inlined into its callers' modules, where it is
    // specialized for the decoded type instead of going through generic metadata per value.
    @usableFromInline let storage: PostgresRows.Storage
    @usableFromInline let row: Int

    /// The raw text of a column, `nil` for NULL.
    @usableFromInline func text(_ column: String) throws(DatabaseError) -> String? {
        guard let position = storage.columnIndex[column] else {
            throw DatabaseError(
                kind: .decoding,
                column: column,
                serverMessage: "no column named \(column) in the result"
            )
        }
        return storage.values[row * storage.columns.count + position]
    }

    /// Decodes a non-NULL column. A missing column, a NULL or an undecodable value throws a
    /// ``DatabaseError`` of kind `.decoding`.
    @inlinable public func decode<T: PostgresDecodable>(
        _ type: T.Type = T.self,
        _ column: String
    )
        throws(DatabaseError) -> T
    {
        guard let value = try decodeIfPresent(type, column) else {
            throw DatabaseError(
                kind: .decoding,
                column: column,
                serverMessage: "column \(column) is NULL"
            )
        }
        return value
    }

    /// Decodes a column, `nil` for NULL.
    @inlinable public func decodeIfPresent<T: PostgresDecodable>(
        _ type: T.Type = T.self,
        _ column: String
    )
        throws(DatabaseError) -> T?
    {
        guard let text = try text(column) else {
            return nil
        }
        do {
            return try T(postgresText: text)
        } catch {
            throw DatabaseError(
                kind: .decoding,
                column: column,
                serverMessage: "column \(column) cannot be decoded as \(T.self)"
            )
        }
    }

    /// True when the column is NULL (or absent from the result).
    public func isNull(_ column: String) -> Bool {
        guard let position = storage.columnIndex[column] else {
            return true
        }
        return storage.values[row * storage.columns.count + position] == nil
    }
}
