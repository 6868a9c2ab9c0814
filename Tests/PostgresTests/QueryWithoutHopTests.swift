import Dispatch
import Logging
import TestSupport
import Testing

@testable import Postgres

/// `PostgresPool.query` sends statements through libpq's pipeline mode without blocking (several
/// queries sharing a connection) and lets the poller thread read their results; these tests
/// drive that path and check it behaves like the thread-pool path.
@Suite("Queries without a thread-pool hop", .timeLimit(.minutes(3)))
struct QueryWithoutHopTests {
    let logger = Logger(label: "postgres-tests")

    static let sleepAndEcho = "SELECT pg_sleep($1::float8) AS slept, $2::int AS n"

    /// Prepares `sql` on every connection of the pool: `size` overlapping calls take one each.
    static func prepareEverywhere(_ pool: PostgresPool, size: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<size {
                group.addTask { try await pool.query(sleepAndEcho, [0.1, 0]) }
            }
            try await group.waitForAll()
        }
    }

    @Test func concurrentQueriesEachGetTheirOwnResult() async throws {
        // 400 callers on 4 connections: on a loaded machine the last ones wait longer than the
        // default 5 s for a connection; what this test checks is the results, not the wait.
        try await TestDatabase.withSchema(migrate: false, poolSize: 4, acquireTimeout: .seconds(60)) { pool, _ in
            let sql = "SELECT $1::int AS n, md5($1::text) AS digest, repeat('x', $1::int % 50) AS padding"
            let callers = 400
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<callers {
                    group.addTask {
                        let row = try #require(try await pool.query(sql, [value]).first)
                        let matches =
                            try row.decode(Int.self, "n") == value
                            && row.decode(String.self, "padding").count == value % 50
                            && row.decode(String.self, "digest").count == 32
                        return matches ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            // Two of the four connections pipeline, each carrying several queries at once; the
            // others take what overflows (how much depends on the machine's load).
            #expect(pool.deepestPipeline >= 2)
            #expect(pool.queriesWithoutHop > 0)
            let statistics = pool.statistics
            #expect(statistics.inUse == 0)
            #expect(statistics.waiting == 0)
            #expect(statistics.open <= 4)
            #expect(statistics.idle == statistics.open)
        }
    }

    @Test func largeParametersAndResultsCrossTheSocketInPieces() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 1) { pool, _ in
            let sql = "SELECT length($1::text) AS length, right($1::text, 20) AS tail, repeat('y', 300000) AS filler"
            // Larger than the socket buffers: sending needs the poller to wait for writability, and
            // the result arrives in several reads. (Kept to one fast query: building the parameter
            // is CPU work on the calling task, slow in debug builds.)
            let text = String(repeating: "0123456789abcdef", count: 1 << 20) + "end"
            for _ in 0..<2 {
                let row = try #require(try await pool.query(sql, [text]).first)
                #expect(try row.decode(Int.self, "length") == text.utf8.count)
                #expect(try row.decode(String.self, "tail") == String(text.suffix(20)))
                #expect(try row.decode(String.self, "filler").utf8.count == 300_000)
            }
            #expect(pool.queriesWithoutHop == 1)
        }
    }

    @Test func serverErrorsCarrySQLStateAndLeaveTheConnectionReusable() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 1) { pool, _ in
            try await pool.withConnection { connection in
                try connection.simpleQuery(
                    "CREATE TABLE tenants (slug text NOT NULL, CONSTRAINT tenants_slug_key UNIQUE (slug))"
                )
            }
            let insert = "INSERT INTO tenants (slug) VALUES ($1)"
            #expect(try await pool.query(insert, ["acme"]).affectedRows == 1)
            let pid = "SELECT pg_backend_pid() AS pid"
            let before = try await pool.query(pid).first?.decode(Int.self, "pid")
            let fastBefore = pool.queriesWithoutHop

            let duplicate = await #expect(throws: DatabaseError.self) {
                try await pool.query(insert, ["acme"])
            }
            #expect(duplicate?.kind == .server)
            #expect(duplicate?.sqlState == .uniqueViolation)
            #expect(duplicate?.constraint == "tenants_slug_key")
            #expect(duplicate?.table == "tenants")
            #expect(duplicate?.isUnavailable == false)
            #expect(duplicate?.description.contains("acme") == false)

            let divide = "SELECT 10 / $1::int AS quotient"
            #expect(try await pool.query(divide, [5]).first?.decode(Int.self, "quotient") == 2)
            let division = await #expect(throws: DatabaseError.self) {
                try await pool.query(divide, [0])
            }
            #expect(division?.sqlState == .divisionByZero)

            #expect(try await pool.query(insert, ["globex"]).affectedRows == 1)
            #expect(try await pool.query(pid).first?.decode(Int.self, "pid") == before)
            // The first use of `divide` prepares it inside the pipeline too.
            #expect(pool.queriesWithoutHop - fastBefore == 5)
            #expect(pool.statistics.open == 1)
        }
    }

    @Test func queriesSharingAPipelineFailOrSucceedEachOnTheirOwn() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 2) { pool, _ in
            let divide = "SELECT 100 / $1::int AS quotient"
            _ = try await pool.query(divide, [1])
            let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for divisor in 0..<60 {
                    group.addTask {
                        let value = divisor % 3
                        do {
                            let quotient = try await pool.query(divide, [value]).first?.decode(Int.self, "quotient")
                            return (value, quotient.map(String.init) ?? "none")
                        } catch let error as DatabaseError {
                            return (value, error.sqlState?.rawValue ?? "\(error.kind)")
                        }
                    }
                }
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            #expect(outcomes.count == 60)
            for (value, outcome) in outcomes {
                #expect(outcome == (value == 0 ? SQLState.divisionByZero.rawValue : String(100 / value)))
            }
            // They shared a connection: a pipeline carried several at once.
            #expect(pool.deepestPipeline >= 2)
            #expect(pool.queriesWithoutHop > 0)
            #expect(pool.statistics.open <= 2)
            #expect(pool.statistics.idle == pool.statistics.open)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aSlowQueryDoesNotHoldUpTheQueriesAfterIt() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 4) { pool, _ in
            try await Self.prepareEverywhere(pool, size: 4)
            let slowDone = LockedValue(false)
            async let slow: Void = {
                _ = try await pool.query(Self.sleepAndEcho, [3.0, 0])
                slowDone.withLock { $0 = true }
            }()
            let started = await eventually { pool.statistics.inUse >= 1 }
            #expect(started)
            try await Task.sleep(for: PostgresPool.pipelineStallLimit * 3)
            // The slow query's pipeline has stalled: these go elsewhere and finish first.
            for value in 1...20 {
                let row = try await pool.query(Self.sleepAndEcho, [0.0, value]).first
                #expect(try row?.decode(Int.self, "n") == value)
            }
            #expect(slowDone.withLock { $0 } == false)
            try await slow
        }
    }

    @Test func statementTimeoutStillCancelsSlowQueries() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 1,
                statementTimeout: .milliseconds(300)
            ),
            logger: logger
        )
        let sql = "SELECT pg_sleep($1::float8) AS slept"
        _ = try await pool.query(sql, [0.0])
        let started = ContinuousClock.now
        let error = await #expect(throws: DatabaseError.self) {
            try await pool.query(sql, [30.0])
        }
        #expect(error?.sqlState == .queryCanceled)
        // Far below the 30 s sleep, with room for a loaded machine: the timeout cut it short.
        #expect(ContinuousClock.now - started < .seconds(10))
        _ = try await pool.query(sql, [0.0])
        #expect(pool.queriesWithoutHop == 2)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test func schemaChangeUnderACachedStatementIsPreparedAgain() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 1) { pool, _ in
            try await pool.withConnection { try $0.simpleQuery("CREATE TABLE things (id int)") }
            let sql = "SELECT * FROM things"
            _ = try await pool.query(sql)
            try await pool.withConnection { try $0.simpleQuery("ALTER TABLE things ADD COLUMN name text") }
            let rows = try await pool.query(sql)
            #expect(rows.columns == ["id", "name"])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingWaitingTasksLeavesThePoolConsistent() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try TestDatabase.baseConnectionString(), poolSize: 2),
            logger: logger
        )
        try await Self.prepareEverywhere(pool, size: 2)
        let outcomes = LockedValue<[String]>([])
        // Both connections stay leased until the waiting tasks are cancelled, however slow the machine.
        let release = DispatchSemaphore(value: 0)
        await withTaskGroup(of: Void.self) { group in
            // Both connections leased (no pipeline to share), so the queries wait in line.
            for value in 0..<2 {
                group.addTask {
                    let label: String
                    do {
                        let n = try await pool.withConnection { connection in
                            release.wait()
                            return try connection.query(Self.sleepAndEcho, [0.0, value]).first?.decode(Int.self, "n")
                        }
                        label = n == value ? "right" : "wrong"
                    } catch {
                        label = "\(error)"
                    }
                    outcomes.withLock { $0.append(label) }
                }
            }
            let leased = await eventually { pool.statistics.inUse == 2 }
            #expect(leased)
            for value in 2..<12 {
                group.addTask {
                    do {
                        let row = try await pool.query(Self.sleepAndEcho, [0.3, value]).first
                        let label = try row?.decode(Int.self, "n") == value ? "right" : "wrong"
                        outcomes.withLock { $0.append(label) }
                    } catch is CancellationError {
                        outcomes.withLock { $0.append("cancelled") }
                    } catch {
                        outcomes.withLock { $0.append("\(error)") }
                    }
                }
            }
            let busy = await eventually { pool.statistics.inUse == 2 && pool.statistics.waiting == 10 }
            #expect(busy)
            group.cancelAll()
            release.signal()
            release.signal()
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 12)
        // Work already running finishes; tasks still waiting for a connection give up.
        #expect(results.allSatisfy { $0 == "right" || $0 == "cancelled" })
        #expect(results.contains("cancelled"))
        let statistics = pool.statistics
        #expect(statistics.inUse == 0)
        #expect(statistics.waiting == 0)
        #expect(statistics.idle == statistics.open)
        let row = try await pool.query(Self.sleepAndEcho, [0.0, 99]).first
        #expect(try row?.decode(Int.self, "n") == 99)
        await pool.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func closeLetsQueriesInFlightFinishAndFailsWaiters() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 2,
                acquireTimeout: .seconds(10)
            ),
            logger: logger
        )
        try await Self.prepareEverywhere(pool, size: 2)
        let fastBefore = pool.queriesWithoutHop
        let outcomes = LockedValue<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for value in 0..<5 {
                // Spaced out so that each finds the pipeline of the first stalled (its query sleeps)
                // and asks for a connection: the first pipelines, the second leases the other
                // connection, the rest wait.
                let started = await eventually { pool.statistics.inUse == min(value, 2) }
                #expect(started)
                try? await Task.sleep(for: PostgresPool.pipelineStallLimit * 3)
                group.addTask {
                    do {
                        // Long enough that all five are queued before the first finishes on a loaded
                        // machine, and under the 5 s statement timeout.
                        let row = try await pool.query(Self.sleepAndEcho, [3.0, value]).first
                        let label = try row?.decode(Int.self, "n") == value ? "right" : "wrong"
                        outcomes.withLock { $0.append(label) }
                    } catch let error as DatabaseError {
                        outcomes.withLock { $0.append("\(error.kind)") }
                    } catch {
                        outcomes.withLock { $0.append("\(error)") }
                    }
                }
            }
            let busy = await eventually { pool.statistics.inUse == 2 && pool.statistics.waiting == 3 }
            #expect(busy)
            await pool.close()
            // Close returns once the queries in flight have finished and their connections are closed.
            #expect(pool.statistics.open == 0)
            #expect(pool.statistics.inUse == 0)
        }
        let results = outcomes.withLock { $0 }.sorted()
        #expect(results == ["closed", "closed", "closed", "right", "right"])
        #expect(pool.queriesWithoutHop - fastBefore == 1)
        let error = await #expect(throws: DatabaseError.self) { try await pool.query(Self.sleepAndEcho, [0.0, 1]) }
        #expect(error?.kind == .closed)
    }
}

/// Runs its own throwaway cluster so it can stop and start the server under traffic. An
/// extension of ``RecoveryTests``, whose suite is serialized so that only one throwaway
/// cluster starts at a time on a 2-core machine.
extension RecoveryTests {
    @Test(.timeLimit(.minutes(2)))
    func queriesInFlightFailAsUnavailableAndThePoolRecovers() async throws {
        try await Self.withClusterPool(statementTimeout: .seconds(10)) { pool, cluster in
            try await exercise(pool: pool, cluster: cluster)
        }
    }

    private func exercise(pool: PostgresPool, cluster: TemporaryCluster) async throws {
        let sql = QueryWithoutHopTests.sleepAndEcho
        try await QueryWithoutHopTests.prepareEverywhere(pool, size: 3)
        let fastBefore = pool.queriesWithoutHop

        let unexpected = LockedValue<[String]>([])
        let served = LockedValue(0)
        let unavailable = LockedValue(0)
        let stopTraffic = LockedValue(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // A long query in flight when the server goes away.
            group.addTask {
                let started = ContinuousClock.now
                let error = await #expect(throws: DatabaseError.self) {
                    try await pool.query(sql, [8.0, -1])
                }
                #expect(error?.isUnavailable == true)
                #expect(ContinuousClock.now - started < .seconds(6))
            }
            // Short queries throughout.
            group.addTask {
                var value = 0
                while !stopTraffic.withLock({ $0 }) {
                    value += 1
                    do {
                        let row = try await pool.query(sql, [0.005, value]).first
                        if try row?.decode(Int.self, "n") == value {
                            served.withLock { $0 += 1 }
                        } else {
                            unexpected.withLock { $0.append("wrong row") }
                        }
                    } catch let error as DatabaseError where error.isUnavailable {
                        unavailable.withLock { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(20))
                    } catch {
                        unexpected.withLock { $0.append("\(error)") }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.stop(mode: .immediate)
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.startServer()
            let servedAfterRestart = served.withLock { $0 }
            let deadline = ContinuousClock.now + .seconds(20)
            while served.withLock({ $0 }) < servedAfterRestart + 20, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            stopTraffic.withLock { $0 = true }
            try await group.waitForAll()
        }
        #expect(unexpected.withLock { $0 } == [])
        #expect(unavailable.withLock { $0 } > 0)
        #expect(served.withLock { $0 } > 20)
        #expect(pool.queriesWithoutHop > fastBefore)
        let statistics = pool.statistics
        #expect(statistics.inUse == 0)
        #expect(statistics.waiting == 0)
        #expect(try await pool.query(sql, [0.0, 7]).first?.decode(Int.self, "n") == 7)
    }
}
