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
    @usableFromInline final class Storage: Sendable {
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
