import Logging
import Postgres
import TestSupport
import Testing

/// Runs its own throwaway cluster so it can stop and start the server.
@Suite("Recovery when PostgreSQL goes away and comes back", .serialized, .timeLimit(.minutes(3)))
struct RecoveryTests {
    @Test(.timeLimit(.minutes(2)))
    func poolFailsFastWhileServerIsDownAndRecoversWithoutRestart() async throws {
        try await Self.withClusterPool(statementTimeout: .seconds(2)) { pool, cluster in
            try await exercise(pool: pool, cluster: cluster)
        }
    }

    /// A pool of three connections on a throwaway cluster of its own; both are
    /// torn down afterwards, whatever `body` did.
    static func withClusterPool(
        statementTimeout: Duration, _ body: (PostgresPool, TemporaryCluster) async throws -> Void
    ) async throws {
        let cluster = try await TemporaryCluster.start()
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: cluster.connectionString,
                poolSize: 3,
                statementTimeout: statementTimeout,
                connectTimeout: .seconds(2),
                acquireTimeout: .seconds(2)
            ),
            logger: Logger(label: "recovery-test")
        )
        do {
            try await body(pool, cluster)
        } catch {
            await pool.close()
            await cluster.destroy()
            throw error
        }
        await pool.close()
        await cluster.destroy()
    }

    private func exercise(pool: PostgresPool, cluster: TemporaryCluster) async throws {
        // Fill the pool with several idle connections that will all die together.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask { try await pool.withConnection { try $0.simpleQuery("SELECT pg_sleep(0.05)") } }
            }
            try await group.waitForAll()
        }
        #expect(pool.statistics.idle == 3)
        #expect(try await pool.query("SELECT 1 AS one").first?.decode(Int.self, "one") == 1)

        try await cluster.stop(mode: .immediate)

        for _ in 0..<3 {
            let started = ContinuousClock.now
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.query("SELECT 1 AS one")
            }
            #expect(error?.isUnavailable == true)
            #expect(ContinuousClock.now - started < .seconds(4))
        }
        let transactionError = await #expect(throws: DatabaseError.self) {
            try await pool.transaction { try $0.execute("SELECT 1") }
        }
        #expect(transactionError?.isUnavailable == true)
        #expect(pool.statistics.inUse == 0)

        try await cluster.startServer()

        #expect(try await pool.query("SELECT 2 AS two").first?.decode(Int.self, "two") == 2)
        let value = try await pool.transaction { connection in
            try connection.query("SELECT 3 AS three").first?.decode(Int.self, "three")
        }
        #expect(value == 3)

        // A restart while connections sit idle: the next transaction replaces them transparently.
        try await cluster.stop(mode: .fast)
        try await cluster.startServer()
        let afterRestart = try await pool.transaction { connection in
            try connection.query("SELECT 4 AS four").first?.decode(Int.self, "four")
        }
        #expect(afterRestart == 4)
        #expect(try await pool.query("SELECT 5 AS five").first?.decode(Int.self, "five") == 5)
    }
}
