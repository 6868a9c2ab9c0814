internal import CLibPQ

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
    /// A sleeping lock: queries are sent and read while it is held.
    private let state: SleepingLock<State>

    private struct State {
        var handle: OpaquePointer?
        /// SQL text -> name of the prepared statement on this connection.
        var statements: [String: String] = [:]
        var nextStatementNumber = 1
        /// In libpq's pipeline mode: the blocking calls refuse to run.
        var pipelineMode = false
        /// The connection failed in pipeline mode: it takes no more queries and must be closed.
        var pipelineBroken = false
        /// Queries sent in pipeline mode whose results have not all been read, oldest first.
        var pending: [PendingQuery] = []
        /// Part of what was sent is still in libpq's output buffer.
        var outputPending = false
        /// What the poller registration armed for the socket waits for; nil when none is armed.
        var armedInterest: PostgresPoller.Interest?
    }

    /// Prepared statements kept per connection before the cache is reset with `DEALLOCATE ALL`;
    /// bounds server memory if a caller builds SQL text dynamically.
    private static let statementCacheLimit = 1000

    /// The `statement_timeout` set on this connection after connecting, in milliseconds.
    let statementTimeoutMilliseconds: Int64

    private init(handle: sending OpaquePointer, statementTimeoutMilliseconds: Int64) {
        self.state = SleepingLock(State(handle: handle))
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
                state.pipelineMode = false
                state.outputPending = false
                state.armedInterest = nil
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
            guard !state.pipelineMode else {
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
            guard !state.pipelineMode else {
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

    /// Runs `body` with the open libpq handle while the connection is locked (for the helpers in
    /// other files of this module, e.g. quoting); throws `.connectionLost` once closed.
    func withHandle<R>(_ body: (OpaquePointer) throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        try state.withLock { (state: inout State) throws(DatabaseError) -> R in
            guard let handle = state.handle else {
                throw DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
            }
            return try body(handle)
        }
    }

    // MARK: - Pipelined queries

    /// What ``sendPipelined(_:texts:poller:completion:)`` did.
    enum PipelineSend {
        /// Sent; the completion will be called once, on the poller thread (or on the caller's
        /// thread if the connection breaks while it is being sent).
        case sent
        /// Nothing was sent because the connection is closed or broken: try another one.
        case connectionBroken
        /// Nothing was sent because preparing one more statement needs the statement cache reset,
        /// which pipeline mode cannot do: run the query with the blocking ``query(_:texts:)``.
        case needsBlockingPath
    }

    /// One query sent in pipeline mode: a prepared statement execution (after its preparation,
    /// on first use) followed by a sync, so each query is its own implicit transaction and an
    /// error in one never aborts the next.
    private struct PendingQuery {
        let sql: String
        let statementName: String
        /// Whether the statement was prepared along with this query.
        let preparedHere: Bool
        /// The last result, or the first error, seen so far.
        var outcome: Result<PostgresRows, DatabaseError>?
        let completion: PipelineCompletion
    }

    /// `retryable` is true when the query failed only because the schema changed under a cached
    /// statement ("cached plan must not change result type"): the statement has been forgotten,
    /// so running the query again prepares it afresh.
    typealias PipelineCompletion = @Sendable (_ result: Result<PostgresRows, DatabaseError>, _ retryable: Bool) -> Void

    /// Switches an idle connection to pipeline mode, where several queries can be in flight;
    /// the blocking calls refuse to run until ``exitPipelineMode()``. False if libpq refuses.
    func enterPipelineMode() -> Bool {
        state.withLock { state in
            guard let handle = state.handle, !state.pipelineMode, PQisnonblocking(handle) == 1,
                PQenterPipelineMode(handle) == 1
            else {
                return false
            }
            state.pipelineMode = true
            state.pipelineBroken = false
            return true
        }
    }

    /// Leaves pipeline mode once every query sent has completed, withdrawing any registration
    /// with `poller` still armed for the socket (a query sent while the poller was reading can
    /// leave one behind; kept, it would hold the poller's thread past ``PostgresPoller/stop()``).
    /// False when the connection cannot be used again (it broke, or libpq still had results
    /// pending).
    func exitPipelineMode(poller: PostgresPoller) -> Bool {
        state.withLock { state in
            guard let handle = state.handle, state.pipelineMode else {
                return false
            }
            poller.deregister(socket: PQsocket(handle))
            state.armedInterest = nil
            guard state.pending.isEmpty, !state.pipelineBroken, PQexitPipelineMode(handle) == 1 else {
                return false
            }
            state.pipelineMode = false
            return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
        }
    }

    /// Sends `sql` (prepared on first use) with its parameters and a sync, without blocking, and
    /// makes sure the poller watches the socket until every query in flight has its results.
    func sendPipelined(
        _ sql: String,
        texts: [String?],
        poller: PostgresPoller,
        completion: @escaping PipelineCompletion
    ) -> PipelineSend {
        let (outcome, failed) = state.withLock { state -> (PipelineSend, [(PipelineCompletion, DatabaseError)]) in
            guard let handle = state.handle, state.pipelineMode, !state.pipelineBroken else {
                return (.connectionBroken, [])
            }
            var preparedHere = false
            let name: String
            if let cached = state.statements[sql] {
                name = cached
            } else {
                guard state.statements.count < Self.statementCacheLimit else {
                    return (.needsBlockingPath, [])
                }
                name = "provisioner_\(state.nextStatementNumber)"
                state.nextStatementNumber += 1
                guard PQsendPrepare(handle, name, sql, Int32(texts.count), nil) == 1 else {
                    return (.connectionBroken, Self.breakPipeline(handle, &state))
                }
                // Queries sent after this one use the name at once: the server prepares it first.
                state.statements[sql] = name
                preparedHere = true
            }
            let sent = withOptionalCStrings(texts) { values in
                PQsendQueryPrepared(handle, name, Int32(texts.count), values, nil, nil, 0)
            }
            guard sent == 1, PQpipelineSync(handle) == 1 else {
                // What reached the server is unknown: this query fails like the ones before it.
                var failed = Self.breakPipeline(handle, &state)
                let error = failed.first?.1 ?? Self.connectionError(handle)
                failed.append((completion, error))
                return (.sent, failed)
            }
            state.pending.append(PendingQuery(sql: sql, statementName: name, preparedHere: preparedHere, outcome: nil, completion: completion))
            switch PQflush(handle) {
            case 0:
                state.outputPending = false
            case 1:
                state.outputPending = true
            default:
                return (.sent, Self.breakPipeline(handle, &state))
            }
            return (.sent, watch(handle, &state, poller: poller))
        }
        for (completion, error) in failed {
            completion(.failure(error), false)
        }
        return outcome
    }

    /// Registers with the poller unless a registration that covers what is needed is armed.
    /// Runs under the connection's lock, so registrations are never reordered.
    private func watch(
        _ handle: OpaquePointer,
        _ state: inout State,
        poller: PostgresPoller
    ) -> [(PipelineCompletion, DatabaseError)] {
        let interest: PostgresPoller.Interest = state.outputPending ? [.readable, .writable] : .readable
        guard !state.pending.isEmpty, state.armedInterest?.isSuperset(of: interest) != true else {
            return []
        }
        do {
            try poller.register(socket: PQsocket(handle), for: interest) { [self] readiness in
                pipelineReady(readiness, poller: poller)
            }
            state.armedInterest = interest
            return []
        } catch {
            return Self.breakPipeline(handle, &state, error: error)
        }
    }

    /// The poller's handler: reads what arrived, completes the queries whose sync came, and
    /// watches again while queries remain.
    private func pipelineReady(_ readiness: PostgresPoller.Readiness, poller: PostgresPoller) {
        let finished = state.withLock { state -> [(PipelineCompletion, Result<PostgresRows, DatabaseError>, Bool)] in
            state.armedInterest = nil
            guard let handle = state.handle, state.pipelineMode, !state.pipelineBroken else {
                return []
            }
            if case .pollerFailed = readiness {
                let error = DatabaseError(kind: .connectionLost, serverMessage: "the poller stopped")
                return Self.breakPipeline(handle, &state, error: error).map { ($0.0, .failure($0.1), false) }
            }
            guard PQconsumeInput(handle) == 1 else {
                return Self.breakPipeline(handle, &state).map { ($0.0, .failure($0.1), false) }
            }
            if state.outputPending {
                switch PQflush(handle) {
                case 0:
                    state.outputPending = false
                case 1:
                    break
                default:
                    return Self.breakPipeline(handle, &state).map { ($0.0, .failure($0.1), false) }
                }
            }
            var finished = Self.readPipelineResults(handle, &state)
            for (completion, error) in watch(handle, &state, poller: poller) {
                finished.append((completion, .failure(error), false))
            }
            return finished
        }
        for (completion, result, retryable) in finished {
            completion(result, retryable)
        }
    }

    /// Reads every complete result libpq has buffered; returns the queries whose sync arrived.
    private static func readPipelineResults(
        _ handle: OpaquePointer,
        _ state: inout State
    ) -> [(PipelineCompletion, Result<PostgresRows, DatabaseError>, Bool)] {
        var finished: [(PipelineCompletion, Result<PostgresRows, DatabaseError>, Bool)] = []
        var endsInARow = 0
        while PQisBusy(handle) == 0, !state.pending.isEmpty {
            // nil ends one query's results; the sync's own result follows. Two in a row would
            // mean libpq is idle: wait for input rather than spin.
            guard let result = PQgetResult(handle) else {
                endsInARow += 1
                if endsInARow > 1 {
                    break
                }
                continue
            }
            endsInARow = 0
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_SYNC:
                let query = state.pending.removeFirst()
                let outcome = query.outcome ?? .failure(DatabaseError(kind: .server, serverMessage: "the server sent no result"))
                var retryable = false
                if case .failure(let error) = outcome {
                    // A statement that may have failed to prepare, or whose plan went stale, is
                    // forgotten, unless another query has prepared it again meanwhile.
                    let stale = !query.preparedHere && error.sqlState == .featureNotSupported
                    if query.preparedHere || stale, state.statements[query.sql] == query.statementName {
                        state.statements[query.sql] = nil
                    }
                    retryable = stale
                }
                finished.append((query.completion, outcome, retryable))
            case PGRES_PIPELINE_ABORTED:
                if case .failure? = state.pending[0].outcome {
                    break
                }
                state.pending[0].outcome = .failure(
                    DatabaseError(kind: .server, serverMessage: "skipped after an earlier error in its pipeline")
                )
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                let error = DatabaseError(kind: .server, serverMessage: "COPY is not supported by query")
                return finished + breakPipeline(handle, &state, error: error).map { ($0.0, .failure($0.1), false) }
            default:
                if case .failure? = state.pending[0].outcome {
                    break
                }
                do throws(DatabaseError) {
                    let checked = try check(result, handle, accepting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY])
                    state.pending[0].outcome = .success(rows(from: checked))
                } catch {
                    state.pending[0].outcome = .failure(error)
                }
            }
        }
        return finished
    }

    /// Marks the connection unusable and hands back every query in flight with `error` (by
    /// default, libpq's account of the failure).
    private static func breakPipeline(
        _ handle: OpaquePointer,
        _ state: inout State,
        error: DatabaseError? = nil
    ) -> [(PipelineCompletion, DatabaseError)] {
        state.pipelineBroken = true
        let error = error ?? connectionError(handle)
        defer { state.pending = [] }
        return state.pending.map { ($0.completion, error) }
    }

    private static func connectionError(_ handle: OpaquePointer) -> DatabaseError {
        let lost = PQstatus(handle) != CONNECTION_OK
        return DatabaseError(kind: lost ? .connectionLost : .server, serverMessage: errorMessage(handle))
    }

    // MARK: - Notifications

    /// The connection's socket, for waiting until the server sends something; -1 once closed.
    var socket: Int32 {
        state.withLock { state in
            state.handle.map { PQsocket($0) } ?? -1
        }
    }

    /// Runs `LISTEN` for each channel (blocking). Each name is quoted by `PQescapeIdentifier`,
    /// never interpolated raw, so any text (quotes, spaces, upper case) names exactly that channel.
    func listen(channels: [String]) throws(DatabaseError) {
        for channel in channels {
            let quoted = try state.withLock { (state: inout State) throws(DatabaseError) -> String in
                guard let handle = state.handle else {
                    throw DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
                }
                guard !channel.isEmpty, !channel.utf8.contains(0) else {
                    throw DatabaseError(kind: .server, sqlState: "42602", serverMessage: "a channel name must be non-empty text without NUL")
                }
                guard let escaped = PQescapeIdentifier(handle, channel, channel.utf8.count) else {
                    throw Self.connectionError(handle)
                }
                defer { PQfreemem(escaped) }
                return String(cString: escaped)
            }
            try simpleQuery("LISTEN " + quoted)
        }
    }

    /// Reads whatever the server has sent, without blocking, and returns the notifications
    /// received so far, oldest first (also those that arrived with the results of earlier
    /// queries). Throws `.connectionLost` once the connection is broken.
    func readNotifications() throws(DatabaseError) -> [PostgresNotification] {
        try state.withLock { (state: inout State) throws(DatabaseError) -> [PostgresNotification] in
            guard let handle = state.handle else {
                throw DatabaseError(kind: .connectionLost, serverMessage: "connection is closed")
            }
            guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
                throw DatabaseError(kind: .connectionLost, serverMessage: Self.errorMessage(handle))
            }
            var notifications: [PostgresNotification] = []
            while let notify = PQnotifies(handle) {
                defer { PQfreemem(notify) }
                notifications.append(
                    PostgresNotification(
                        channel: String(cString: notify.pointee.relname),
                        payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                        backendPID: notify.pointee.be_pid
                    )
                )
            }
            return notifications
        }
    }

    // MARK: - Pool support

    /// Cheap check, without a round trip, that an idle connection can be used: the server has not
    /// closed it while it sat in the pool, and no transaction is open. Never blocks.
    func isUsable() -> Bool {
        state.withLock { state in
            guard let handle = state.handle, !state.pipelineMode, PQstatus(handle) == CONNECTION_OK,
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
            guard let handle = state.handle, !state.pipelineMode else {
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
