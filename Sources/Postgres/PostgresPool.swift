public import Logging
internal import NIOPosix
public import ServiceLifecycle
import Synchronization

/// A fixed-size pool of libpq connections whose blocking calls run on a dedicated thread pool,
/// never on Swift's cooperative threads.
///
/// ``query(_:_:)`` takes a faster path: the query is sent in libpq's pipeline mode, without
/// blocking, from the calling task, which then waits, suspended, while the pool's
/// ``PostgresPoller`` thread reads the result as it arrives; no thread-pool hop, and concurrent
/// queries share connections, so the server and the poller each wake once for several.
///
/// Connections are opened lazily, up to `poolSize`. A connection that broke, or that the server
/// closed while it sat idle, is discarded and replaced by a new one on demand, so the pool
/// recovers by itself when PostgreSQL comes back after a restart or a failover.
///
/// As a `Service`, `run()` waits for graceful shutdown and then closes the pool.
public final class PostgresPool: Sendable, Service {
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    /// Waits for the results of ``query(_:_:)``'s fast path; nil if it could not be started
    /// (then every query runs on the thread pool).
    private let poller: PostgresPoller?
    private let state: Mutex<PoolState>

    public init(configuration: PostgresConfiguration, logger: Logger) {
        var configuration = configuration
        configuration.poolSize = max(1, configuration.poolSize)
        self.configuration = configuration
        self.logger = logger
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.poolSize)
        self.state = Mutex(PoolState())
        do {
            self.poller = try PostgresPoller()
        } catch {
            logger.warning(
                "postgres poller unavailable; queries run on the thread pool",
                metadata: ["db.error": "\(error.serverMessage ?? "\(error.kind)")"]
            )
            self.poller = nil
        }
        threadPool.start()
    }

    deinit {
        let shutdownStarted = state.withLock { $0.threadPoolShutdownStarted }
        if !shutdownStarted {
            threadPool.shutdownGracefully { _ in }
            // No query can be in flight (each holds the pool): the thread ends at once.
            poller?.stop()
            poller?.detach()
        }
    }

    /// Queries that completed through a pipeline so far (for tests).
    var queriesWithoutHop: Int {
        state.withLock { $0.queriesWithoutHop }
    }

    /// The most queries one pipeline has carried at once so far (for tests).
    var deepestPipeline: Int {
        state.withLock { $0.deepestPipeline }
    }

    // MARK: - Public API

    /// Lends a connection to `body`, which runs synchronously on one of the pool's threads.
    ///
    /// Waits up to `acquireTimeout` for a free connection (then throws `.poolTimeout`). A
    /// connection found closed by the server before `body` could use it is replaced transparently.
    /// Afterwards, a transaction left open is rolled back; a broken connection is discarded.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        for _ in 0...configuration.poolSize {
            switch try await lease(body) {
            case .finished(let result):
                return try result.get()
            case .deadBeforeUse:
                continue
            }
        }
        throw DatabaseError(kind: .connectionLost, serverMessage: "every pooled connection was closed by the server")
    }

    /// Runs `body` inside a transaction on one connection: `BEGIN`, `body`, `COMMIT`, or
    /// `ROLLBACK` if anything throws (errors other than ``DatabaseError`` pass through unchanged).
    ///
    /// The whole transaction is run again, up to 5 attempts with a short jittered backoff, when
    /// it fails with a serialization failure (40001) or a deadlock (40P01): `body` must be safe to
    /// repeat. A connection found dead at `BEGIN` is replaced and the transaction started anew.
    public func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let maximumAttempts = 5
        var attempt = 1
        var deadConnections = 0
        while true {
            let outcome = try await lease { connection throws -> TransactionOutcome<T> in
                try Self.runTransaction(on: connection, isolation: isolation, body)
            }
            switch outcome {
            case .deadBeforeUse:
                deadConnections += 1
                if deadConnections > configuration.poolSize {
                    throw DatabaseError(kind: .connectionLost, serverMessage: "every pooled connection was closed by the server")
                }
            case .finished(.success(.committed(let value))):
                return value
            case .finished(.success(.deadAtBegin(let error))):
                deadConnections += 1
                if deadConnections > configuration.poolSize {
                    throw error
                }
            case .finished(.failure(let error)):
                guard let databaseError = error as? DatabaseError,
                    databaseError.sqlState?.isRetryableTransactionFailure == true,
                    attempt < maximumAttempts
                else {
                    throw error
                }
                logger.debug(
                    "postgres transaction retried",
                    metadata: ["db.sqlstate": "\(databaseError.sqlState?.rawValue ?? "")", "db.attempt": "\(attempt)"]
                )
                try await Task.sleep(for: Self.backoff(attempt: attempt))
                attempt += 1
            }
        }
    }

    /// Runs one statement on a pooled connection (see ``PostgresConnection/query(_:_:)``).
    ///
    /// The statement goes through libpq's pipeline mode: it is sent without blocking from the
    /// calling task, which waits, suspended, while the pool's ``PostgresPoller`` thread reads the
    /// result. Concurrent queries share a pipelined connection (up to ``pipelineDepth`` in flight
    /// on it, each its own implicit transaction), so a busy server reads several per wake-up and
    /// the poller completes several per wake-up. A pipeline whose oldest query has made no
    /// progress for ``pipelineStallLimit`` takes no more queries, so one slow statement does not
    /// hold up others. At most half the pool pipelines, so ``withConnection(_:)`` and
    /// ``transaction(isolation:_:)`` never find the whole pool taken by pipelines.
    ///
    /// A connection found closed by the server before anything was sent is replaced
    /// transparently; one that breaks once the query was sent fails it with `.connectionLost`.
    ///
    /// Cancelling the calling task does not interrupt the query: the call returns when the server
    /// has answered (the statement timeout bounds the wait), so a write is never reported
    /// cancelled after it happened.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresBindable)?] = []) async throws -> PostgresRows {
        let texts = try PostgresConnection.parameterTexts(parameters)
        var staleStatementRetried = false
        for _ in 0...configuration.poolSize {
            let pipelined: PipelineOutcome
            if let poller, let connection = joinPipeline() {
                pipelined = await queryPipelined(connection, sql, texts, poller: poller)
            } else {
                let grant = try await acquire()
                if case .connection(let connection) = grant, let poller, startPipeline(connection) {
                    pipelined = await queryPipelined(connection, sql, texts, poller: poller)
                } else if case .connection(let connection) = grant, let poller, let shared = joinPipeline() {
                    // Pipelines filled up while this call waited: share one, give the connection back.
                    release(connection, reusable: true)
                    pipelined = await queryPipelined(shared, sql, texts, poller: poller)
                } else {
                    switch try await lease(grant, { connection in try connection.query(sql, texts: texts) }) {
                    case .finished(let result):
                        return try result.get()
                    case .deadBeforeUse:
                        continue
                    }
                }
            }
            switch pipelined {
            case .finished(let result):
                return try result.get()
            case .staleStatement(let error):
                if staleStatementRetried {
                    throw error
                }
                staleStatementRetried = true
            case .connectionBroken:
                continue
            case .needsBlockingPath:
                switch try await lease({ connection in try connection.query(sql, texts: texts) }) {
                case .finished(let result):
                    return try result.get()
                case .deadBeforeUse:
                    continue
                }
            }
        }
        throw DatabaseError(kind: .connectionLost, serverMessage: "every pooled connection was closed by the server")
    }

    /// A snapshot of the pool's connections, for metrics.
    public var statistics: PoolStatistics {
        state.withLock { state in
            PoolStatistics(
                size: configuration.poolSize,
                open: state.open,
                inUse: state.inUse,
                idle: state.idle.count,
                waiting: state.waiters.count
            )
        }
    }

    /// Closes idle connections, fails waiting callers with `.closed`, lets running work finish
    /// (closing its connection afterwards) and stops the threads. Idempotent.
    public func close() async {
        let closing = state.withLock { state -> (idle: [PostgresConnection], waiters: [Waiter])? in
            guard !state.isClosed else {
                return nil
            }
            state.isClosed = true
            state.threadPoolShutdownStarted = true
            let idle = state.idle
            state.idle = []
            state.open -= idle.count
            let waiters = state.waiters
            state.waiters = []
            return (idle, waiters)
        }
        guard let closing else {
            return
        }
        for waiter in closing.waiters {
            waiter.continuation.resume(throwing: DatabaseError(kind: .closed))
        }
        let idle = closing.idle
        let closedOnThreadPool = await onThreadPool { () -> Bool in
            for connection in idle {
                connection.close()
            }
            return true
        }
        if closedOnThreadPool == nil {
            for connection in idle {
                connection.close()
            }
        }
        if let poller {
            // Queries in flight finish first (their connections are then closed, not pooled).
            poller.stop()
            let joined = await onThreadPool { () -> Bool in
                poller.join()
                return true
            }
            if joined == nil {
                poller.detach()
            }
        }
        do {
            try await threadPool.shutdownGracefully()
        } catch {
            logger.warning("postgres thread pool shutdown failed", metadata: ["error": "\(error)"])
        }
        logger.debug("postgres pool closed")
    }

    /// `Service`: waits for graceful shutdown (or cancellation), then closes the pool.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    // MARK: - Leasing

    private enum LeaseOutcome<T: Sendable>: Sendable {
        case finished(Result<T, any Error>)
        /// The idle connection handed out had been closed by the server; nothing was run.
        case deadBeforeUse
    }

    /// Acquires a connection, runs `body` on the thread pool, and releases the connection there.
    private func lease<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> LeaseOutcome<T> {
        try await lease(try await acquire(), body)
    }

    /// Runs `body` on the thread pool with the connection `grant` stands for, and releases it there.
    private func lease<T: Sendable>(
        _ grant: Grant,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> LeaseOutcome<T> {
        let outcome = await onThreadPool { () -> LeaseOutcome<T> in
            let connection: PostgresConnection
            switch grant {
            case .connection(let pooled):
                guard pooled.isUsable() else {
                    self.logger.debug("postgres idle connection found closed; discarding it")
                    self.release(pooled, reusable: false)
                    return .deadBeforeUse
                }
                connection = pooled
            case .create:
                do {
                    connection = try self.openConnection()
                } catch {
                    self.releaseSlot()
                    return .finished(.failure(error))
                }
            }
            let result = Result { try body(connection) }
            let reusable = connection.resetForReuse()
            if !reusable {
                self.logger.debug("postgres connection discarded after use")
            }
            self.release(connection, reusable: reusable)
            return .finished(result)
        }
        guard let outcome else {
            // The thread pool is shut down: the pool was closed while this call was queued.
            switch grant {
            case .connection(let pooled):
                release(pooled, reusable: false)
            case .create:
                releaseSlot()
            }
            throw DatabaseError(kind: .closed)
        }
        return outcome
    }

    /// Opens a connection (blocking; thread pool only), logging only transitions between
    /// failing and working so an outage does not flood the log.
    private func openConnection() throws(DatabaseError) -> PostgresConnection {
        do {
            let connection = try PostgresConnection.connect(configuration: configuration)
            let recovered = state.withLock { state in
                defer { state.connectFailing = false }
                return state.connectFailing
            }
            if recovered {
                logger.info("postgres connection restored")
            }
            return connection
        } catch {
            let firstFailure = state.withLock { state in
                defer { state.connectFailing = true }
                return !state.connectFailing
            }
            if firstFailure {
                var metadata: Logger.Metadata = ["db.error": "\(error.kind)"]
                if let sqlState = error.sqlState {
                    metadata["db.sqlstate"] = "\(sqlState.rawValue)"
                }
                logger.warning("postgres connection failed", metadata: metadata)
            }
            throw error
        }
    }

    private func acquire() async throws -> Grant {
        let immediate = state.withLock { state -> Result<Grant, DatabaseError>? in
            state.grantImmediately(size: configuration.poolSize)
        }
        switch immediate {
        case .success(let grant):
            return grant
        case .failure(let error):
            throw error
        case nil:
            if let poller {
                return try await waitForGrant(timingOutWith: poller)
            }
            return try await waitForGrant()
        }
    }

    /// Waits in line for a connection, up to `acquireTimeout`, which the poller's timer enforces
    /// for all waiters at once: waiting costs no child task and no timer of its own.
    private func waitForGrant(timingOutWith poller: PostgresPoller) async throws -> Grant {
        let deadline = ContinuousClock.now + configuration.acquireTimeout
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let (immediate, armTimer) = state.withLock { state -> (Result<Grant, any Error>?, Bool) in
                    // Cancellation is flagged before the handler below runs, and the handler takes
                    // this lock: a waiter is either refused here or found there, never lost.
                    if Task.isCancelled {
                        return (.failure(CancellationError()), false)
                    }
                    if let result = state.grantImmediately(size: configuration.poolSize) {
                        return (result.mapError { $0 }, false)
                    }
                    state.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    defer { state.waiterTimerArmed = true }
                    return (nil, !state.waiterTimerArmed)
                }
                if let immediate {
                    continuation.resume(with: immediate)
                } else if armTimer {
                    armWaiterTimer(poller, at: deadline)
                }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Already granted: the caller goes on with its connection.
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func armWaiterTimer(_ poller: PostgresPoller, at deadline: ContinuousClock.Instant) {
        do {
            try poller.schedule(at: deadline) { [weak self] in
                self?.expireWaiters()
            }
        } catch {
            // The poller stopped: the pool is closing, and closing fails every waiter.
            state.withLock { $0.waiterTimerArmed = false }
        }
    }

    /// Fails the waiters whose deadline has passed (on the poller thread) and sets the timer for
    /// the next one. Waiters are in line in deadline order: they all wait `acquireTimeout`.
    private func expireWaiters() {
        let now = ContinuousClock.now
        let (expired, next) = state.withLock { state -> ([Waiter], ContinuousClock.Instant?) in
            let count = state.waiters.prefix { $0.deadline <= now }.count
            let expired = Array(state.waiters.prefix(count))
            state.waiters.removeFirst(count)
            let next = state.waiters.first?.deadline
            state.waiterTimerArmed = next != nil
            return (expired, next)
        }
        if !expired.isEmpty {
            logger.debug(
                "postgres pool acquire timed out",
                metadata: ["db.pool.size": "\(configuration.poolSize)", "db.pool.timed_out": "\(expired.count)"]
            )
        }
        for waiter in expired {
            waiter.continuation.resume(throwing: DatabaseError(kind: .poolTimeout))
        }
        if let next, let poller {
            armWaiterTimer(poller, at: next)
        }
    }

    /// Waits in line for a connection, up to `acquireTimeout` (without a poller).
    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let timeout = configuration.acquireTimeout
        return try await withThrowingTaskGroup(of: Grant?.self) { group in
            group.addTask {
                try await self.enqueueWaiter(id: id)
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // A grant that arrives first wins; otherwise stop waiting, but still take a grant
            // that raced with the timeout rather than leaking it.
            if let first = try await group.next(), let grant = first {
                group.cancelAll()
                return grant
            }
            abandonWaiter(id: id)
            do {
                if let second = try await group.next(), let grant = second {
                    // Granted just before it was abandoned: drop the abandonment marker.
                    state.withLock { _ = $0.abandonedWaiters.remove(id) }
                    return grant
                }
            } catch let error as DatabaseError where error.kind == .closed {
                throw error
            } catch {
                // Abandoned: fall through to the timeout or cancellation below.
            }
            try Task.checkCancellation()
            logger.debug("postgres pool acquire timed out", metadata: ["db.pool.size": "\(configuration.poolSize)"])
            throw DatabaseError(kind: .poolTimeout)
        }
    }

    private func enqueueWaiter(id: Int) async throws -> Grant {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
            let immediate = state.withLock { state -> Result<Grant, DatabaseError>? in
                if state.abandonedWaiters.remove(id) != nil {
                    return .failure(DatabaseError(kind: .poolTimeout))
                }
                if let result = state.grantImmediately(size: configuration.poolSize) {
                    return result
                }
                state.waiters.append(
                    Waiter(id: id, deadline: ContinuousClock.now + configuration.acquireTimeout, continuation: continuation)
                )
                return nil
            }
            if let immediate {
                continuation.resume(with: immediate.mapError { $0 as any Error })
            }
        }
    }

    private func abandonWaiter(id: Int) {
        let continuation = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                // Either already granted (the grant is in flight) or not yet registered.
                state.abandonedWaiters.insert(id)
                return nil
            }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(throwing: DatabaseError(kind: .poolTimeout))
    }

    /// Returns a leased connection: to the next waiter, to the idle list, or closes it.
    private func release(_ connection: PostgresConnection, reusable: Bool) {
        let action = state.withLock { state -> ReleaseAction in
            if reusable && !state.isClosed {
                if !state.waiters.isEmpty {
                    let waiter = state.waiters.removeFirst()
                    state.abandonedWaiters.remove(waiter.id)
                    return .handOver(waiter.continuation, .connection(connection))
                }
                state.inUse -= 1
                state.idle.append(connection)
                return .none
            }
            state.open -= 1
            state.inUse -= 1
            if let waiter = state.takeWaiterForNewConnection() {
                return .closeAndHandOver(connection, waiter.continuation)
            }
            return .close(connection)
        }
        switch action {
        case .none:
            break
        case .handOver(let continuation, let grant):
            continuation.resume(returning: grant)
        case .close(let connection):
            connection.close()
        case .closeAndHandOver(let connection, let continuation):
            connection.close()
            continuation.resume(returning: .create)
        }
    }

    /// Gives back the slot of a connection that could not be opened.
    private func releaseSlot() {
        let waiter = state.withLock { state -> Waiter? in
            state.open -= 1
            state.inUse -= 1
            return state.takeWaiterForNewConnection()
        }
        waiter?.continuation.resume(returning: .create)
    }

    /// Runs `work` on the thread pool; nil if the thread pool no longer runs work.
    private func onThreadPool<R: Sendable>(_ work: @escaping @Sendable () -> R) async -> R? {
        await withCheckedContinuation { (continuation: CheckedContinuation<R?, Never>) in
            threadPool.submit { workState in
                guard case .active = workState else {
                    continuation.resume(returning: nil)
                    return
                }
                continuation.resume(returning: work())
            }
        }
    }

    // MARK: - Pipelines

    /// Queries in flight on one pipelined connection before the next query takes another.
    static let pipelineDepth = 4
    /// Queries in flight on one pipelined connection once as many connections pipeline as may.
    static let pipelineOverflowDepth = 16
    /// How long a pipeline's oldest query may go without progress before new queries avoid it.
    static let pipelineStallLimit = Duration.milliseconds(2)

    /// Half the pool: pipelines never take all of it from ``withConnection(_:)`` and
    /// ``transaction(isolation:_:)``.
    private var maximumPipelines: Int {
        max(1, configuration.poolSize / 2)
    }

    private enum PipelineOutcome: Sendable {
        case finished(Result<PostgresRows, any Error>)
        /// The connection broke before the query was sent: nothing ran, try again.
        case connectionBroken
        /// The statement's cached plan went stale (the schema changed); it has been forgotten.
        case staleStatement(DatabaseError)
        /// Pipeline mode cannot run this query now (see ``PostgresConnection/PipelineSend``).
        case needsBlockingPath
    }

    /// The least busy pipelined connection with room and no stalled query, now counting one more
    /// query. Room is ``pipelineDepth`` queries, or ``pipelineOverflowDepth`` once as many
    /// connections pipeline as may.
    private func joinPipeline() -> PostgresConnection? {
        let now = ContinuousClock.now
        let maximumPipelines = self.maximumPipelines
        return state.withLock { state -> PostgresConnection? in
            let depth = state.pipelines.count < maximumPipelines ? Self.pipelineDepth : Self.pipelineOverflowDepth
            var best: Int?
            for index in state.pipelines.indices {
                let pipeline = state.pipelines[index]
                guard pipeline.queries < depth, now - pipeline.lastProgress < Self.pipelineStallLimit else {
                    continue
                }
                if best.map({ pipeline.queries < state.pipelines[$0].queries }) ?? true {
                    best = index
                }
            }
            guard let best else {
                return nil
            }
            state.pipelines[best].queries += 1
            state.deepestPipeline = max(state.deepestPipeline, state.pipelines[best].queries)
            return state.pipelines[best].connection
        }
    }

    /// Turns a connection just acquired into a pipeline carrying one query; false (the
    /// connection still leased) when half the pool already pipelines or libpq refuses.
    private func startPipeline(_ connection: PostgresConnection) -> Bool {
        let maximumPipelines = self.maximumPipelines
        let room = state.withLock { state in
            state.pipelines.count < maximumPipelines
        }
        guard room, connection.isUsable(), connection.enterPipelineMode() else {
            return false
        }
        state.withLock { state in
            state.pipelines.append(PipelineSlot(connection: connection, queries: 1, lastProgress: .now))
        }
        return true
    }

    /// Counts one query of `connection`'s pipeline as done; the last one out takes the connection
    /// out of pipeline mode and releases it.
    private func leavePipeline(_ connection: PostgresConnection, completed: Bool) {
        let now = ContinuousClock.now
        let last = state.withLock { state -> Bool in
            if completed {
                state.queriesWithoutHop += 1
            }
            guard let index = state.pipelines.firstIndex(where: { $0.connection === connection }) else {
                return false
            }
            state.pipelines[index].queries -= 1
            state.pipelines[index].lastProgress = now
            guard state.pipelines[index].queries == 0 else {
                return false
            }
            state.pipelines.remove(at: index)
            return true
        }
        if last {
            let reusable = poller.map { connection.exitPipelineMode(poller: $0) } ?? false
            if !reusable {
                logger.debug("postgres connection discarded after use")
            }
            release(connection, reusable: reusable)
        }
    }

    /// Sends the query on a pipelined connection this call counts in, and waits for its result.
    private func queryPipelined(
        _ connection: PostgresConnection,
        _ sql: String,
        _ texts: [String?],
        poller: PostgresPoller
    ) async -> PipelineOutcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<PipelineOutcome, Never>) in
            let sent = connection.sendPipelined(sql, texts: texts, poller: poller) { result, retryable in
                self.leavePipeline(connection, completed: true)
                switch (result, retryable) {
                case (.failure(let error), true):
                    continuation.resume(returning: .staleStatement(error))
                default:
                    continuation.resume(returning: .finished(result.mapError { $0 }))
                }
            }
            switch sent {
            case .sent:
                break
            case .connectionBroken:
                leavePipeline(connection, completed: false)
                continuation.resume(returning: .connectionBroken)
            case .needsBlockingPath:
                leavePipeline(connection, completed: false)
                continuation.resume(returning: .needsBlockingPath)
            }
        }
    }

    // MARK: - Transactions

    private enum TransactionOutcome<T: Sendable>: Sendable {
        case committed(T)
        /// The connection broke at `BEGIN`: nothing was done, safe to retry elsewhere.
        case deadAtBegin(DatabaseError)
    }

    private static func runTransaction<T: Sendable>(
        on connection: PostgresConnection,
        isolation: IsolationLevel,
        _ body: (PostgresConnection) throws -> T
    ) throws -> TransactionOutcome<T> {
        do {
            try connection.simpleQuery(isolation.beginStatement)
        } catch  where error.kind == .connectionLost {
            return .deadAtBegin(error)
        }
        do {
            let value = try body(connection)
            if connection.transactionState == .failedTransaction {
                // COMMIT would silently roll back: report the error that `body` swallowed.
                throw DatabaseError(
                    kind: .server,
                    sqlState: .inFailedSQLTransaction,
                    serverMessage: "a statement failed inside the transaction; it was rolled back"
                )
            }
            try connection.simpleQuery("COMMIT")
            return .committed(value)
        } catch {
            switch connection.transactionState {
            case .inTransaction, .failedTransaction:
                try? connection.simpleQuery("ROLLBACK")
            case .idle, .other:
                break
            }
            throw error
        }
    }

    /// 10 ms, 20 ms, 40 ms, ... with ±50 % jitter so conflicting transactions drift apart.
    private static func backoff(attempt: Int) -> Duration {
        let base = 10.0 * Double(1 << min(attempt - 1, 6))
        return .milliseconds(base * Double.random(in: 0.5...1.5))
    }
}

// MARK: - State

/// What a caller is given: a pooled connection, or permission to open a new one.
private enum Grant: Sendable {
    case connection(PostgresConnection)
    case create
}

private struct PipelineSlot: Sendable {
    let connection: PostgresConnection
    /// Queries counted in: sent or about to be, not yet completed.
    var queries: Int
    /// When the pipeline started or last completed a query.
    var lastProgress: ContinuousClock.Instant
}

private struct Waiter: Sendable {
    let id: Int
    let deadline: ContinuousClock.Instant
    let continuation: CheckedContinuation<Grant, any Error>
}

private enum ReleaseAction {
    case none
    case handOver(CheckedContinuation<Grant, any Error>, Grant)
    case close(PostgresConnection)
    case closeAndHandOver(PostgresConnection, CheckedContinuation<Grant, any Error>)
}

private struct PoolState: Sendable {
    var idle: [PostgresConnection] = []
    /// Connections open or being opened.
    var open = 0
    /// Connections (or slots for connections being opened) lent to callers.
    var inUse = 0
    var waiters: [Waiter] = []
    var nextWaiterID = 0
    /// Waiters that gave up before they were registered or while their grant was in flight.
    var abandonedWaiters: Set<Int> = []
    /// The poller's timer is set to fail waiters that waited `acquireTimeout`.
    var waiterTimerArmed = false
    var isClosed = false
    var threadPoolShutdownStarted = false
    var connectFailing = false
    /// Connections in pipeline mode (leased, counted in `inUse`).
    var pipelines: [PipelineSlot] = []
    /// Queries that completed through a pipeline (sent without blocking, result read by the poller).
    var queriesWithoutHop = 0
    /// The most queries one pipeline has carried at once.
    var deepestPipeline = 0

    /// A grant without waiting, an error if closed, or nil if the caller must wait.
    mutating func grantImmediately(size: Int) -> Result<Grant, DatabaseError>? {
        if isClosed {
            return .failure(DatabaseError(kind: .closed))
        }
        if let connection = idle.popLast() {
            inUse += 1
            return .success(.connection(connection))
        }
        if open < size {
            open += 1
            inUse += 1
            return .success(.create)
        }
        return nil
    }

    /// After a slot freed up: the next waiter, who may now open a connection.
    mutating func takeWaiterForNewConnection() -> Waiter? {
        guard !isClosed, !waiters.isEmpty else {
            return nil
        }
        let waiter = waiters.removeFirst()
        abandonedWaiters.remove(waiter.id)
        open += 1
        inUse += 1
        return waiter
    }
}
