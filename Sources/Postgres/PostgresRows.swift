/// The rows of one result, copied out of libpq eagerly (the `PGresult` is already freed).
public struct PostgresRows: Sendable, RandomAccessCollection {
    public typealias Element = PostgresRow
    public typealias Index = Int

    /// Column names, in result order.
    public var columns: [String] { storage.columns }
    /// Rows affected by an INSERT/UPDATE/DELETE (or returned by a SELECT), from the command tag.
    public var affectedRows: Int

    let storage: Storage

    init(storage: Storage, affectedRows: Int) {
        self.storage = storage
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.rowCount }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row index out of range")
        return PostgresRow(storage: storage, row: position)
    }

    /// Column metadata and values of one result, shared by its rows.
    final class Storage: Sendable {
        let columns: [String]
        /// Column name -> index; the first column wins when a name repeats.
        let columnIndex: [String: Int]
        let rowCount: Int
        /// Row-major values, `nil` for SQL NULL.
        let values: [String?]

        init(columns: [String], rowCount: Int, values: [String?]) {
            self.columns = columns
            var index: [String: Int] = [:]
            index.reserveCapacity(columns.count)
            for (position, name) in columns.enumerated() where index[name] == nil {
                index[name] = position
            }
            self.columnIndex = index
            self.rowCount = rowCount
            self.values = values
        }

        static let empty = Storage(columns: [], rowCount: 0, values: [])
    }
}

/// One row of a ``PostgresRows``. Columns are looked up by name in constant time.
public struct PostgresRow: Sendable {
    let storage: PostgresRows.Storage
    let row: Int

    /// The raw text of a column, `nil` for NULL.
    func text(_ column: String) throws(DatabaseError) -> String? {
        guard let position = storage.columnIndex[column] else {
            throw DatabaseError(
                kind: .decoding, column: column, serverMessage: "no column named \(column) in the result")
        }
        return storage.values[row * storage.columns.count + position]
    }

    /// Decodes a non-NULL column. A missing column, a NULL or an undecodable value throws a
    /// ``DatabaseError`` of kind `.decoding`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: String)
        throws(DatabaseError) -> T
    {
        guard let value = try decodeIfPresent(type, column) else {
            throw DatabaseError(
                kind: .decoding, column: column, serverMessage: "column \(column) is NULL")
        }
        return value
    }

    /// Decodes a column, `nil` for NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: String)
        throws(DatabaseError) -> T?
    {
        guard let text = try text(column) else {
            return nil
        }
        do {
            return try T(postgresText: text)
        } catch {
            throw DatabaseError(
                kind: .decoding, column: column,
                serverMessage: "column \(column) cannot be decoded as \(T.self)")
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
