import Postgres
import TestSupport
import Testing

@Suite("Transactions", .timeLimit(.minutes(3)))
struct TransactionTests {
    struct BodyFailure: Error, Equatable {}

    @Test func commitMakesChangesVisible() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.query("CREATE TABLE items (name text)")
            let inserted = try await pool.transaction { connection in
                try connection.execute("INSERT INTO items VALUES ($1), ($2)", ["a", "b"])
            }
            #expect(inserted == 2)
            #expect(try await pool.query("SELECT name FROM items").count == 2)
        }
    }

    @Test func thrownErrorRollsBackAndPassesThroughUnchanged() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.query("CREATE TABLE items (name text)")
            await #expect(throws: BodyFailure()) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO items VALUES ($1)", ["lost"])
                    throw BodyFailure()
                }
            }
            #expect(try await pool.query("SELECT name FROM items").isEmpty)
            // The connection went back to the pool clean.
            let status = try await pool.query("SELECT pg_current_xact_id_if_assigned() IS NULL AS fresh")
            #expect(try status.first?.decode(Bool.self, "fresh") == true)
        }
    }

    @Test func databaseErrorInBodyRollsBack() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.query("CREATE TABLE items (name text PRIMARY KEY)")
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO items VALUES ($1)", ["first"])
                    try connection.execute("INSERT INTO items VALUES ($1)", ["first"])
                }
            }
            #expect(error?.sqlState == .uniqueViolation)
            #expect(try await pool.query("SELECT name FROM items").isEmpty)
        }
    }

    @Test func swallowedStatementErrorIsReportedInsteadOfSilentRollback() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.query("CREATE TABLE items (name text PRIMARY KEY)")
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.transaction { connection in
                    try connection.execute("INSERT INTO items VALUES ($1)", ["kept?"])
                    _ = try? connection.execute("INSERT INTO items VALUES ($1)", ["kept?"])
                }
            }
            #expect(error?.sqlState == .inFailedSQLTransaction)
            #expect(try await pool.query("SELECT name FROM items").isEmpty)
        }
    }

    @Test func connectionLeftInsideTransactionIsRolledBackBeforeReuse() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 1) { pool, _ in
            try await pool.query("CREATE TABLE items (name text)")
            try await pool.withConnection { connection in
                try connection.simpleQuery("BEGIN")
                try connection.execute("INSERT INTO items VALUES ($1)", ["abandoned"])
            }
            #expect(try await pool.query("SELECT name FROM items").isEmpty)
            #expect(pool.statistics.open == 1)
        }
    }

    @Test func conflictingSerializableTransactionsAreRetriedUntilAllSucceed() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 3) { pool, _ in
            try await pool.withConnection { connection in
                try connection.simpleQuery("CREATE TABLE counters (id int PRIMARY KEY, value int NOT NULL)")
                try connection.execute("INSERT INTO counters VALUES (1, 0)")
            }
            let attempts = LockedValue(0)
            let writers = 3
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        try await pool.transaction(isolation: .serializable) { connection in
                            attempts.withLock { $0 += 1 }
                            let value =
                                try connection.query("SELECT value FROM counters WHERE id = 1")
                                .first?.decode(Int.self, "value") ?? -1
                            // Hold the snapshot long enough for the other writers to read the same value.
                            try connection.simpleQuery("SELECT pg_sleep(0.2)")
                            try connection.execute("UPDATE counters SET value = $1 WHERE id = 1", [value + 1])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let value = try await pool.query("SELECT value FROM counters WHERE id = 1").first?.decode(Int.self, "value")
            #expect(value == writers)
            #expect(attempts.withLock { $0 } > writers)
        }
    }

    @Test(arguments: [IsolationLevel.readCommitted, .repeatableRead, .serializable])
    func isolationLevelIsApplied(level: IsolationLevel) async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let name = try await pool.transaction(isolation: level) { connection in
                try connection.query("SELECT current_setting('transaction_isolation') AS level")
                    .first?.decode(String.self, "level")
            }
            let expected: String =
                switch level {
                case .readCommitted: "read committed"
                case .repeatableRead: "repeatable read"
                case .serializable: "serializable"
                }
            #expect(name == expected)
        }
    }
}
