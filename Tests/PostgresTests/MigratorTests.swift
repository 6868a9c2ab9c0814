import Foundation
import Logging
import Postgres
import TestSupport
import Testing

@Suite("Migrator", .timeLimit(.minutes(3)))
struct MigratorTests {
    let logger = Logger(label: "postgres-tests")

    /// A temporary migrations folder, removed afterwards.
    @discardableResult
    static func withFolder<T>(_ files: [String: String], _ body: (URL) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, content) in files {
            try Data(content.utf8).write(to: folder.appendingPathComponent(name))
        }
        return try await body(folder)
    }

    static let threeMigrations = [
        "0001_create_regions.sql": "CREATE TABLE regions (id int PRIMARY KEY, name text NOT NULL);",
        "0002_seed_regions.sql": "INSERT INTO regions VALUES (1, 'eu'); INSERT INTO regions VALUES (2, 'us');",
        "0010_add_region_code.sql": "ALTER TABLE regions ADD COLUMN code text; UPDATE regions SET code = upper(name);",
        "README.md": "not a migration",
        "notes.txt": "ignored",
    ]

    @Test func checksumIsSHA256OfTheFileBytes() async throws {
        let long = String(
            repeating: "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            count: 37
        )
        try await Self.withFolder(["0001_abc.sql": "abc", "0002_empty.sql": "", "0003_long.sql": long]) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrations = try Migrator(pool: pool, directory: folder, logger: logger).available()
                #expect(
                    migrations.map(\.checksum).prefix(2) == [
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    ]
                )
                // Cross-check a multi-block input with PostgreSQL's own sha256().
                let expected = try await pool.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex') AS digest", [long])
                    .first?.decode(String.self, "digest")
                #expect(migrations[2].checksum == expected)
            }
        }
    }

    @Test func availableSortsByNumberAndIgnoresOtherFiles() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrations = try Migrator(pool: pool, directory: folder, logger: logger).available()
                #expect(migrations.map(\.version) == [1, 2, 10])
                #expect(migrations.map(\.name) == ["create_regions", "seed_regions", "add_region_code"])
            }
        }
    }

    @Test(arguments: ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "0001_.sql", "abcd_name.sql"])
    func malformedSQLFileNameIsAnError(fileName: String) async throws {
        try await Self.withFolder([fileName: "SELECT 1;"]) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                #expect {
                    try Migrator(pool: pool, directory: folder, logger: logger).available()
                } throws: { error in
                    guard case .invalidFileName(let name) = error as? MigrationError else { return false }
                    return name == fileName
                }
            }
        }
    }

    @Test func duplicateVersionIsAnError() async throws {
        try await Self.withFolder(["0001_a.sql": "SELECT 1;", "00001_b.sql": "SELECT 2;"]) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                #expect {
                    try Migrator(pool: pool, directory: folder, logger: logger).available()
                } throws: { error in
                    guard case .duplicateVersion(1, let files) = error as? MigrationError else { return false }
                    return files.count == 2
                }
            }
        }
    }

    @Test func applyRunsPendingMigrationsInOrderOnceAndRecordsThem() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrator = Migrator(pool: pool, directory: folder, logger: logger)
                #expect(try await migrator.status() == .behind(current: 0, pending: [1, 2, 10]))

                let applied = try await migrator.apply()
                #expect(applied.map(\.version) == [1, 2, 10])
                let codes = try await pool.query("SELECT code FROM regions ORDER BY id").map { try $0.decode(String.self, "code") }
                #expect(codes == ["EU", "US"])
                let recorded = try await pool.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
                #expect(try recorded.map { try $0.decode(Int.self, "version") } == [1, 2, 10])
                #expect(try recorded.map { try $0.decode(String.self, "checksum") } == applied.map(\.checksum))

                #expect(try await migrator.apply().isEmpty)
                #expect(try await migrator.status() == .current(version: 10))
            }
        }
    }

    @Test func schemaMigrationsTableLandsInTheConnectionsSchema() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                try await Migrator(pool: pool, directory: folder, logger: logger).apply()
                let row = try await pool.query(
                    "SELECT to_regclass('schema_migrations')::text AS found, current_schema() AS schema, (SELECT table_schema FROM information_schema.tables WHERE table_name = 'schema_migrations' AND table_schema = current_schema()) AS table_schema"
                ).first
                #expect(try row?.decode(String.self, "table_schema") == row?.decode(String.self, "schema"))
            }
        }
    }

    @Test func newFileMakesStatusBehindAndApplyRunsOnlyIt() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrator = Migrator(pool: pool, directory: folder, logger: logger)
                try await migrator.apply()
                try Data("CREATE TABLE plans (id int PRIMARY KEY);".utf8).write(to: folder.appendingPathComponent("0011_create_plans.sql"))
                #expect(try await migrator.status() == .behind(current: 10, pending: [11]))
                #expect(try await migrator.apply().map(\.version) == [11])
            }
        }
    }

    @Test func modifiedAppliedFileIsRefusedAndNothingIsApplied() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrator = Migrator(pool: pool, directory: folder, logger: logger)
                try await migrator.apply()
                try Data("INSERT INTO regions VALUES (1, 'changed');".utf8).write(to: folder.appendingPathComponent("0002_seed_regions.sql"))
                try Data("CREATE TABLE plans (id int PRIMARY KEY);".utf8).write(to: folder.appendingPathComponent("0011_create_plans.sql"))

                #expect(try await migrator.status() == .modified(version: 2, name: "seed_regions"))
                let error = await #expect(throws: MigrationError.self) { try await migrator.apply() }
                guard case .modifiedMigration(2, "seed_regions") = error else {
                    Issue.record("unexpected error \(String(describing: error))")
                    return
                }
                #expect(error?.description.contains("0002_seed_regions") == true)
                #expect(try await pool.query("SELECT to_regclass('plans') IS NULL AS absent").first?.decode(Bool.self, "absent") == true)
            }
        }
    }

    @Test func appliedVersionWithoutFileIsReportedAheadAndRefused() async throws {
        try await Self.withFolder(Self.threeMigrations) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrator = Migrator(pool: pool, directory: folder, logger: logger)
                try await migrator.apply()
                try FileManager.default.removeItem(at: folder.appendingPathComponent("0010_add_region_code.sql"))
                #expect(try await migrator.status() == .ahead(unknown: [10]))
                let error = await #expect(throws: MigrationError.self) { try await migrator.apply() }
                guard case .unknownAppliedMigration(10) = error else {
                    Issue.record("unexpected error \(String(describing: error))")
                    return
                }
            }
        }
    }

    @Test func failingMigrationIsRolledBackWithItsRecord() async throws {
        let files = [
            "0001_ok.sql": "CREATE TABLE kept (id int);",
            "0002_broken.sql": "CREATE TABLE half (id int); SELECT * FROM does_not_exist;",
        ]
        try await Self.withFolder(files) { folder in
            try await TestDatabase.withSchema(migrate: false) { pool, _ in
                let migrator = Migrator(pool: pool, directory: folder, logger: logger)
                let error = await #expect(throws: MigrationError.self) { try await migrator.apply() }
                guard case .migrationFailed(2, "broken", let underlying) = error else {
                    Issue.record("unexpected error \(String(describing: error))")
                    return
                }
                #expect(underlying.sqlState == .undefinedTable)
                let status = try await migrator.status()
                #expect(status == .behind(current: 1, pending: [2]))
                let halfAbsent = try await pool.query("SELECT to_regclass('half') IS NULL AS absent").first?.decode(Bool.self, "absent")
                #expect(halfAbsent == true)
                // The advisory lock was released: a second run gets as far as the broken file again.
                await #expect(throws: MigrationError.self) { try await migrator.apply() }
            }
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let files = [
            "0001_create_log.sql": "CREATE TABLE log (entry text NOT NULL);",
            "0002_slow.sql": "SELECT pg_sleep(0.3); INSERT INTO log VALUES ('0002');",
            "0003_more.sql": "INSERT INTO log VALUES ('0003');",
        ]
        try await Self.withFolder(files) { folder in
            try await TestDatabase.withSchema(migrate: false, poolSize: 4) { pool, connectionString in
                // Separate pools, as separate processes would have.
                let pools = (0..<3).map { _ in
                    PostgresPool(configuration: PostgresConfiguration(connectionString: connectionString, poolSize: 1), logger: logger)
                }
                let outcome: Result<[Int], any Error>
                do {
                    let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                        for migratorPool in pools {
                            group.addTask {
                                try await Migrator(pool: migratorPool, directory: folder, logger: logger).apply().count
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    outcome = .success(counts)
                } catch {
                    outcome = .failure(error)
                }
                for migratorPool in pools {
                    await migratorPool.close()
                }
                let counts = try outcome.get()
                #expect(counts.reduce(0, +) == 3)
                let entries = try await pool.query("SELECT entry FROM log ORDER BY entry").map { try $0.decode(String.self, "entry") }
                #expect(entries == ["0002", "0003"])
            }
        }
    }

    @Test func migrationsRunWithoutStatementTimeoutAndRestoreIt() async throws {
        try await Self.withFolder(["0001_slow.sql": "SELECT pg_sleep(0.5);"]) { folder in
            try await TestDatabase.withSchema(migrate: false) { _, connectionString in
                let pool = PostgresPool(
                    configuration: PostgresConfiguration(
                        connectionString: connectionString,
                        poolSize: 1,
                        statementTimeout: .milliseconds(200)
                    ),
                    logger: logger
                )
                let result: Result<String?, any Error>
                do {
                    try await Migrator(pool: pool, directory: folder, logger: logger).apply()
                    result = .success(
                        try await pool.query("SELECT current_setting('statement_timeout') AS timeout").first?
                            .decode(String.self, "timeout")
                    )
                } catch {
                    result = .failure(error)
                }
                await pool.close()
                let timeout = try result.get()
                #expect(timeout == "200ms")
            }
        }
    }

    @Test func missingDirectoryIsAnError() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let folder = URL(fileURLWithPath: "/nonexistent/migrations-\(UUID().uuidString)")
            #expect(throws: MigrationError.self) {
                try Migrator(pool: pool, directory: folder, logger: logger).available()
            }
        }
    }

    @Test func repositoryMigrationsApplyToAFreshSchema() async throws {
        try await TestDatabase.withSchema(migrate: true) { pool, _ in
            let directory = TestDatabase.repositoryRoot.appendingPathComponent("migrations")
            let migrator = Migrator(pool: pool, directory: directory, logger: logger)
            let latest = try migrator.available().last?.version ?? 0
            #expect(latest > 0)
            #expect(try await migrator.status() == .current(version: latest))
        }
    }
}
