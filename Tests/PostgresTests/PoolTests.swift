import Dispatch
import Logging
import Postgres
import TestSupport
import Testing

@Suite("Pool sizing, waiting and closing", .timeLimit(.minutes(3)))
struct PoolTests {
    let logger = Logger(label: "postgres-tests")

    @Test func concurrentCallersNeverExceedPoolSizeAndWaitersAreCounted() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 3) { pool, _ in
            let maximumOpen = LockedValue(0)
            let sawWaiting = LockedValue(false)
            let callers = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        try await pool.withConnection { connection in
                            let statistics = pool.statistics
                            maximumOpen.withLock { $0 = max($0, statistics.open) }
                            if statistics.waiting > 0 {
                                sawWaiting.withLock { $0 = true }
                            }
                            try connection.simpleQuery("SELECT pg_sleep(0.1)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(maximumOpen.withLock { $0 } <= 3)
            #expect(sawWaiting.withLock { $0 })
            let statistics = pool.statistics
            #expect(statistics.size == 3)
            #expect(statistics.open <= 3)
            #expect(statistics.inUse == 0)
            #expect(statistics.waiting == 0)
            #expect(statistics.idle == statistics.open)
        }
    }

    @Test func serverSeesNoMoreConnectionsThanPoolSize() async throws {
        let applicationName = "pool_size_\(UInt32.random(in: 0...UInt32.max))"
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 2,
                applicationName: applicationName
            ),
            logger: logger
        )
        let counts = LockedValue<[Int]>([])
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            let count =
                                try connection.query(
                                    "SELECT count(*) AS connections FROM pg_stat_activity WHERE application_name = $1",
                                    [applicationName]
                                ).first?.decode(Int.self, "connections") ?? 0
                            counts.withLock { $0.append(count) }
                            try connection.simpleQuery("SELECT pg_sleep(0.05)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        #expect(counts.withLock { $0.count } == 6)
        #expect(counts.withLock { $0.max() ?? 0 } <= 2)
    }

    @Test func waitingLongerThanAcquireTimeoutFailsWithPoolTimeout() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 1,
                acquireTimeout: .milliseconds(300)
            ),
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await pool.withConnection { try $0.simpleQuery("SELECT pg_sleep(3)") }
            }
            #expect(await eventually { pool.statistics.inUse == 1 })
            let started = ContinuousClock.now
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.query("SELECT 1")
            }
            let waited = ContinuousClock.now - started
            // A timeout, not the connection: the holder keeps it for 3 s, far past the 300 ms.
            #expect(error?.kind == .poolTimeout)
            #expect(error?.isUnavailable == true)
            #expect(waited >= .milliseconds(250))
            try await group.waitForAll()
        }
        #expect(pool.statistics.waiting == 0)
        #expect(try await pool.query("SELECT 1 AS one").first?.decode(Int.self, "one") == 1)
        await pool.close()
    }

    @Test func releasedConnectionGoesToTheWaiterInsteadOfTimingOut() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 1,
                acquireTimeout: .seconds(5)
            ),
            logger: logger
        )
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 0..<5 {
                group.addTask {
                    try await pool.withConnection { connection in
                        try connection.simpleQuery("SELECT pg_sleep(0.05)")
                        return value
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == [0, 1, 2, 3, 4])
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test func closedPoolRefusesWorkAndCloseIsIdempotent() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try TestDatabase.baseConnectionString(), poolSize: 2),
            logger: logger
        )
        _ = try await pool.query("SELECT 1")
        await pool.close()
        await pool.close()
        let error = await #expect(throws: DatabaseError.self) {
            try await pool.query("SELECT 1")
        }
        #expect(error?.kind == .closed)
        #expect(error?.isUnavailable == true)
        #expect(pool.statistics.open == 0)
    }

    @Test func closeFailsWaitersAndLetsRunningWorkFinish() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try TestDatabase.baseConnectionString(),
                poolSize: 1,
                acquireTimeout: .seconds(10)
            ),
            logger: logger
        )
        // The running work holds its connection until the test lets it go, however slow the machine.
        let release = DispatchSemaphore(value: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let value = try await pool.withConnection { connection in
                    release.wait()
                    try connection.simpleQuery("SELECT 1")
                    return 7
                }
                #expect(value == 7)
            }
            #expect(await eventually { pool.statistics.inUse == 1 })
            group.addTask {
                let error = await #expect(throws: DatabaseError.self) {
                    try await pool.query("SELECT 1")
                }
                #expect(error?.kind == .closed)
            }
            #expect(await eventually { pool.statistics.waiting == 1 })
            let closing = Task { await pool.close() }
            // Close fails the waiter at once, while the running work still holds its connection.
            #expect(await eventually { pool.statistics.waiting == 0 })
            release.signal()
            await closing.value
            try await group.waitForAll()
        }
        #expect(pool.statistics.open == 0)
    }

    @Test func runningPoolClosesWhenItsServiceTaskEnds() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try TestDatabase.baseConnectionString(), poolSize: 1),
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            #expect(try await pool.query("SELECT 1 AS one").first?.decode(Int.self, "one") == 1)
            group.cancelAll()
            try await group.waitForAll()
        }
        let error = await #expect(throws: DatabaseError.self) { try await pool.query("SELECT 1") }
        #expect(error?.kind == .closed)
    }
}
