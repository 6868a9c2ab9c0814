internal import CLibPQ
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection (`PGconn`), closed when the object goes away.
///
/// Every call blocks the calling thread until the server answers, so connections are only handed
/// out by ``PostgresPool``, inside closures that it runs on its own threads. The handle is guarded
/// by a mutex: calls from several threads are serialized, never interleaved.
public final class PostgresConnection: Sendable {
    private let state: Mutex<State>

    private struct State {
        var handle: OpaquePointer?
        /// SQL text -> name of the prepared statement on this connection.
        var statements: [String: String] = [:]
        var nextStatementNumber = 1
        /// A query sent without blocking whose results have not all been read: the connection
        /// must not run anything else (nor go back to the pool) until it is finished or closed.
        var queryInFlight = false
        /// The first result (or first error) of the query in flight, kept while libpq waits
        /// for the rest of the server's answer.
        var inFlightOutcome: Result<PostgresRows, DatabaseError>?
    }

    /// Prepared statements kept per connection before the cache is reset with `DEALLOCATE ALL`;
    /// bounds server memory if a caller builds SQL text dynamically.
    private static let statementCacheLimit = 1000

    /// The `statement_timeout` set on this connection after connecting, in milliseconds.
    let statementTimeoutMilliseconds: Int64

    private init(handle: sending OpaquePointer, statementTimeoutMilliseconds: Int64) {
        self.state = Mutex(State(handle: handle))
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    deinit {
        close()
    }

    // MARK: - Connecting

    /// Opens a connection (blocking). The connection string is expanded by libpq
    /// (`expand_dbname`); the settings listed before it are defaults the string may override,
    /// `client_encoding` after it is enforced because values are decoded as UTF-8.
    static func connect(configuration: PostgresConfiguration) throws(DatabaseError) -> PostgresConnection {
        let connectTimeoutSeconds = max(2, configuration.connectTimeout.roundedUpSeconds)
        let parameters: [(String, String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", configuration.applicationName),
            ("keepalives", "1"),
            ("keepalives_idle", "5"),
            ("keepalives_interval", "2"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", "10000"),
            ("dbname", configuration.connectionString),
            ("client_encoding", "UTF8"),
        ]
        let handle = withCStringArrays(parameters) { keywords, values in
            PQconnectdbParams(keywords, values, 1)
        }
        guard let handle else {
            throw DatabaseError(kind: .connectionFailed, serverMessage: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.errorMessage(handle)
            PQfinish(handle)
            throw DatabaseError(kind: .connectionFailed, serverMessage: message)
        }
        PQsetNoticeProcessor(handle, ignoreNotice, nil)
        // Lets ``sendQueryWithoutBlocking(_:_:)`` return at once; PQexec, PQprepare and
        // PQexecPrepared ignore this mode and still block, as the synchronous API expects.
        guard PQsetnonblocking(handle, 1) == 0 else {
            let message = Self.errorMessage(handle)
            PQfinish(handle)
            throw DatabaseError(kind: .connectionFailed, serverMessage: message)
        }

        let timeout = configuration.statementTimeout.roundedUpMilliseconds
        let connection = PostgresConnection(handle: handle, statementTimeoutMilliseconds: timeout)
        do {
            try connection.simpleQuery("SET statement_timeout = \(timeout); SET TIME ZONE 'UTC'")
        } catch {
            connection.close()
            throw DatabaseError(
                kind: error.kind == .connectionLost ? .connectionFailed : error.kind,
                sqlState: error.sqlState,
                serverMessage: error.serverMessage
            )
        }
        return connection
    }

    /// Closes the connection now (idempotent).
    func close() {
        state.withLock { state in
            if let handle = state.handle {
                PQfinish(handle)
                state.handle = nil
                state.statements = [:]
                state.queryInFlight = false
                state.inFlightOutcome = nil
            }
        }
    }

    // MARK: - Queries

    /// Runs one statement with text-format parameters (`$1`, `$2`, ...; `nil` is SQL NULL) and
    /// returns its rows. The statement is prepared on first use and reused by name afterwards.
    @discardableResult
    public func query(
        _ sql: String,
        _ parameters: [(any PostgresBindable)?] = []
    ) throws(DatabaseError)
        -> PostgresRows
    {
        try query(sql, texts: Self.parameterTexts(parameters))
    }

    /// The text form of each parameter (`nil` for NULL); throws for text PostgreSQL cannot hold.
    static func parameterTexts(_ parameters: [(any PostgresBindable)?]) throws(DatabaseError) -> [String?] {
        let texts = parameters.map { $0?.postgresText }
        for (position, text) in texts.enumerated() where text?.utf8.contains(0) == true {
            throw DatabaseError(
                kind: .server,
                sqlState: "22021",
                serverMessage: "parameter $\(position + 1) contains a NUL byte, which PostgreSQL text cannot hold"
            )
        }
        return texts
    }

    /// ``query(_:_:)`` with parameters already converted by ``parameterTexts(_:)``.
    func query(_ sql: String, texts: [String?]) throws(DatabaseError) -> PostgresRows {
        try state.withLock { (state: inout State) throws(DatabaseError) -> PostgresRows in
            guard let handle = state.handle else {
                throw DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
            }
            guard !state.queryInFlight else {
                throw DatabaseError(kind: .server, serverMessage: "another query is in progress on this connection")
            }
            let wasCached = state.statements[sql] != nil
            do throws(DatabaseError) {
                return try Self.executePrepared(handle, &state, sql, texts)
            } catch  where wasCached && error.sqlState == .featureNotSupported {
                // "cached plan must not change result type": the schema changed under a cached
                // statement. Forget it; outside a transaction it is safe to prepare it again now.
                state.statements[sql] = nil
                guard PQtransactionStatus(handle) == PQTRANS_IDLE else {
                    throw error
                }
                return try Self.executePrepared(handle, &state, sql, texts)
            }
        }
    }

    /// Runs one statement like ``query(_:_:)`` and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [(any PostgresBindable)?] = []) throws(DatabaseError) -> Int {
        try query(sql, parameters).affectedRows
    }

    /// Runs SQL without parameters through the simple query protocol; it may hold several
    /// statements (migrations, `BEGIN` / `COMMIT`).
    public func simpleQuery(_ sql: String) throws(DatabaseError) {
        try state.withLock { (state: inout State) throws(DatabaseError) in
            guard let handle = state.handle else {
                throw DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
            }
            guard !state.queryInFlight else {
                throw DatabaseError(kind: .server, serverMessage: "another query is in progress on this connection")
            }
            let result = PQexec(handle, sql)
            defer { PQclear(result) }
            try Self.check(result, handle, accepting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY])
        }
    }

    private static func executePrepared(
        _ handle: OpaquePointer,
        _ state: inout State,
        _ sql: String,
        _ parameters: [String?]
    ) throws(DatabaseError) -> PostgresRows {
        let name: String
        if let cached = state.statements[sql] {
            name = cached
        } else {
            if state.statements.count >= statementCacheLimit {
                let status = PQtransactionStatus(handle)
                if status == PQTRANS_IDLE || status == PQTRANS_INTRANS {
                    let result = PQexec(handle, "DEALLOCATE ALL")
                    defer { PQclear(result) }
                    try check(result, handle, accepting: [PGRES_COMMAND_OK])
                    state.statements = [:]
                }
            }
            name = "provisioner_\(state.nextStatementNumber)"
            state.nextStatementNumber += 1
            let result = PQprepare(handle, name, sql, Int32(parameters.count), nil)
            defer { PQclear(result) }
            try check(result, handle, accepting: [PGRES_COMMAND_OK])
            state.statements[sql] = name
        }

        let result = withOptionalCStrings(parameters) { values in
            PQexecPrepared(handle, name, Int32(parameters.count), values, nil, nil, 0)
        }
        defer { PQclear(result) }
        let checked = try check(result, handle, accepting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY])
        return rows(from: checked)
    }

    // MARK: - Queries without blocking

    /// How a query sent without blocking goes on.
    enum Progress {
        /// Wait until the socket is readable, then call ``continueQueryWithoutBlocking()``.
        case waitForReadable
        /// Output is still queued: wait until the socket is readable or writable, then call
        /// ``continueQueryWithoutBlocking()``.
        case waitForWritable
        /// Every result has been read. `reusable` is false when the connection must be closed
        /// (broken, left inside a transaction, or in a state this path does not handle).
        case finished(Result<PostgresRows, DatabaseError>, reusable: Bool)
    }

    enum Start {
        /// The statement is not prepared on this connection (preparing is a round trip): run it
        /// with the blocking ``query(_:texts:)`` instead. Nothing was sent.
        case notPrepared
        /// The query was sent; wait on `socket` as `progress` says.
        case sent(socket: Int32, progress: Progress)
    }

    /// Sends a statement prepared earlier on this connection and returns at once: libpq's
    /// asynchronous calls in non-blocking mode never wait for the network. A thrown error means
    /// the connection failed while the query was being sent: it must be closed, and whether the
    /// server received the query is unknown.
    func sendQueryWithoutBlocking(_ sql: String, texts: [String?]) throws(DatabaseError) -> Start {
        try state.withLock { (state: inout State) throws(DatabaseError) -> Start in
            guard let handle = state.handle, !state.queryInFlight, let name = state.statements[sql],
                PQisnonblocking(handle) == 1
            else {
                return .notPrepared
            }
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                throw DatabaseError(kind: .connectionLost, serverMessage: Self.errorMessage(handle))
            }
            let sent = withOptionalCStrings(texts) { values in
                PQsendQueryPrepared(handle, name, Int32(texts.count), values, nil, nil, 0)
            }
            guard sent == 1 else {
                let lost = PQstatus(handle) != CONNECTION_OK
                throw DatabaseError(kind: lost ? .connectionLost : .server, serverMessage: Self.errorMessage(handle))
            }
            state.queryInFlight = true
            state.inFlightOutcome = nil
            return .sent(socket: socket, progress: Self.flushWithoutBlocking(handle, &state) ?? .waitForReadable)
        }
    }

    /// Reads whatever the server has sent for the query in flight, without blocking; to be called
    /// when its socket is ready.
    func continueQueryWithoutBlocking() -> Progress {
        state.withLock { state in
            guard let handle = state.handle, state.queryInFlight else {
                let error = DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
                return .finished(.failure(error), reusable: false)
            }
            guard PQconsumeInput(handle) == 1 else {
                return Self.failInFlight(handle)
            }
            if let progress = Self.flushWithoutBlocking(handle, &state) {
                return progress
            }
            while PQisBusy(handle) == 0 {
                guard let result = PQgetResult(handle) else {
                    let outcome =
                        state.inFlightOutcome
                        ?? .failure(DatabaseError(kind: .server, serverMessage: "the server sent no result"))
                    state.queryInFlight = false
                    state.inFlightOutcome = nil
                    let reusable = PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
                    return .finished(outcome, reusable: reusable)
                }
                defer { PQclear(result) }
                switch PQresultStatus(result) {
                case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                    // libpq would hand out a COPY result on every call: give the connection up.
                    let error = DatabaseError(kind: .server, serverMessage: "COPY is not supported by query")
                    return .finished(.failure(error), reusable: false)
                default:
                    break
                }
                let outcome: Result<PostgresRows, DatabaseError>
                do throws(DatabaseError) {
                    let checked = try Self.check(
                        result,
                        handle,
                        accepting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY]
                    )
                    outcome = .success(Self.rows(from: checked))
                } catch {
                    outcome = .failure(error)
                }
                // Keep the first result, unless an error follows it.
                switch (state.inFlightOutcome, outcome) {
                case (nil, _), (.success?, .failure):
                    state.inFlightOutcome = outcome
                default:
                    break
                }
            }
            return .waitForReadable
        }
    }

    /// Forgets the prepared statement for `sql` (its cached plan is stale). True when the
    /// connection can prepare it again right away: healthy, idle, outside a transaction.
    func forgetStatement(_ sql: String) -> Bool {
        state.withLock { state in
            state.statements[sql] = nil
            guard let handle = state.handle, !state.queryInFlight else {
                return false
            }
            return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
        }
    }

    /// Sends queued output; nil once all of it is sent, `.waitForWritable` while some remains.
    private static func flushWithoutBlocking(_ handle: OpaquePointer, _ state: inout State) -> Progress? {
        switch PQflush(handle) {
        case 0:
            return nil
        case 1:
            return .waitForWritable
        default:
            return failInFlight(handle)
        }
    }

    private static func failInFlight(_ handle: OpaquePointer) -> Progress {
        let lost = PQstatus(handle) != CONNECTION_OK
        let error = DatabaseError(kind: lost ? .connectionLost : .server, serverMessage: errorMessage(handle))
        return .finished(.failure(error), reusable: false)
    }

    // MARK: - Pool support

    /// Cheap check, without a round trip, that an idle connection can be used: the server has not
    /// closed it while it sat in the pool, and no transaction is open. Never blocks.
    func isUsable() -> Bool {
        state.withLock { state in
            guard let handle = state.handle, !state.queryInFlight, PQstatus(handle) == CONNECTION_OK,
                PQtransactionStatus(handle) == PQTRANS_IDLE
            else {
                return false
            }
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                return false
            }
            // Anything readable on an idle connection is either a message sent before the server
            // closed it (read as a notice) or the end of the stream.
            for _ in 0..<4 {
                var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 0) > 0 else {
                    break
                }
                guard PQconsumeInput(handle) == 1 else {
                    return false
                }
                while let notification = PQnotifies(handle) {
                    PQfreemem(notification)
                }
            }
            return PQstatus(handle) == CONNECTION_OK
        }
    }

    /// Whether the connection is still open and healthy, with no query in flight.
    var isHealthy: Bool {
        state.withLock { state in
            guard let handle = state.handle, !state.queryInFlight else {
                return false
            }
            return PQstatus(handle) == CONNECTION_OK
        }
    }

    enum TransactionState {
        case idle, inTransaction, failedTransaction, other
    }

    var transactionState: TransactionState {
        state.withLock { state in
            guard let handle = state.handle else {
                return .other
            }
            switch PQtransactionStatus(handle) {
            case PQTRANS_IDLE: return .idle
            case PQTRANS_INTRANS: return .inTransaction
            case PQTRANS_INERROR: return .failedTransaction
            default: return .other
            }
        }
    }

    /// Prepares a connection to go back to the pool: rolls back a transaction left open.
    /// Returns false when the connection must be discarded.
    func resetForReuse() -> Bool {
        switch transactionState {
        case .idle:
            return isHealthy
        case .inTransaction, .failedTransaction:
            do {
                try simpleQuery("ROLLBACK")
            } catch {
                return false
            }
            return isHealthy && transactionState == .idle
        case .other:
            return false
        }
    }

    // MARK: - Results and errors

    /// Throws unless `result` has one of the accepted statuses; returns it non-nil otherwise.
    @discardableResult
    private static func check(
        _ result: OpaquePointer?,
        _ handle: OpaquePointer,
        accepting accepted: [ExecStatusType]
    ) throws(DatabaseError) -> OpaquePointer {
        guard let result else {
            let lost = PQstatus(handle) != CONNECTION_OK
            throw DatabaseError(kind: lost ? .connectionLost : .server, serverMessage: errorMessage(handle))
        }
        let status = PQresultStatus(result)
        if accepted.contains(status) {
            return result
        }
        let sqlState = field(result, diagnostic: "C").map(SQLState.init(rawValue:))
        let lost = PQstatus(handle) != CONNECTION_OK
        throw DatabaseError(
            kind: lost ? .connectionLost : .server,
            sqlState: sqlState,
            constraint: field(result, diagnostic: "n"),
            table: field(result, diagnostic: "t"),
            column: field(result, diagnostic: "c"),
            serverMessage: field(result, diagnostic: "M") ?? errorMessage(handle)
        )
    }

    /// One `PG_DIAG_*` field; the codes are the protocol's one-letter field types.
    private static func field(_ result: OpaquePointer, diagnostic code: Unicode.Scalar) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.value)) else {
            return nil
        }
        return String(cString: value)
    }

    private static func errorMessage(_ handle: OpaquePointer) -> String? {
        guard let message = PQerrorMessage(handle) else {
            return nil
        }
        let text = String(cString: message).trimmingTrailingNewlines()
        return text.isEmpty ? nil : text
    }

    private static func rows(from result: OpaquePointer) -> PostgresRows {
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        let fieldCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        guard fieldCount > 0 else {
            return PostgresRows(storage: .empty, affectedRows: affected)
        }
        let columns = (0..<fieldCount).map { column in
            PQfname(result, Int32(column)).map { String(cString: $0) } ?? ""
        }
        var values: [String?] = []
        values.reserveCapacity(rowCount * fieldCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(fieldCount) {
                guard PQgetisnull(result, row, column) == 0, let bytes = PQgetvalue(result, row, column) else {
                    values.append(nil)
                    continue
                }
                let length = Int(PQgetlength(result, row, column))
                let text = bytes.withMemoryRebound(to: UInt8.self, capacity: length) { pointer in
                    String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
                }
                values.append(text)
            }
        }
        let storage = PostgresRows.Storage(columns: columns, rowCount: rowCount, values: values)
        return PostgresRows(storage: storage, affectedRows: affected)
    }
}

// MARK: - C helpers

/// Notices (e.g. "relation already exists, skipping") would otherwise be printed to stderr.
private func ignoreNotice(_: UnsafeMutableRawPointer?, _: UnsafePointer<CChar>?) {}

/// Calls `body` with NULL-terminated keyword and value arrays for `PQconnectdbParams`.
private func withCStringArrays<R>(
    _ pairs: [(String, String)],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    withOptionalCStrings(pairs.map(\.0) + [nil]) { keywords in
        withOptionalCStrings(pairs.map(\.1) + [nil]) { values in
            body(keywords, values)
        }
    }
}

/// Calls `body` with an array of C strings (NULL for `nil`), valid only during the call.
private func withOptionalCStrings<R>(
    _ strings: [String?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    // One buffer holds every string, NUL-terminated, so there is a single allocation to free.
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    var storage: [CChar] = []
    for string in strings {
        guard let string else {
            offsets.append(nil)
            continue
        }
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
        storage.append(0)
    }
    return storage.withUnsafeBufferPointer { buffer in
        let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
            guard let offset, let base = buffer.baseAddress else {
                return nil
            }
            return base + offset
        }
        return pointers.withUnsafeBufferPointer { array in
            // A non-empty array always has a base address; an empty one is never passed by libpq
            // callers here (the keyword arrays end with nil), but stay safe for zero parameters.
            guard let base = array.baseAddress else {
                return withUnsafePointer(to: UnsafePointer<CChar>?.none) { body($0) }
            }
            return body(base)
        }
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isNewline || last == " " {
            text.removeLast()
        }
        return String(text)
    }
}

extension Duration {
    var roundedUpMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return remainder > 0 ? milliseconds + 1 : milliseconds
    }

    var roundedUpSeconds: Int64 {
        let (seconds, attoseconds) = components
        return attoseconds > 0 ? seconds + 1 : seconds
    }
}
