public import Foundation
public import Logging

/// Applies the SQL files of a migrations folder, in version order, once each.
///
/// Applied versions are recorded with the file's checksum in `schema_migrations`, created in the
/// connection's current schema. Each migration runs in its own transaction together with its
/// record, so it must not contain `BEGIN`/`COMMIT` or statements that cannot run in a transaction
/// (such as `CREATE INDEX CONCURRENTLY`). Migrations run without a statement timeout.
public struct Migrator: Sendable {
    public let pool: PostgresPool
    public let directory: URL
    private let logger: Logger

    /// Key of the session-level advisory lock that serializes concurrent migrators ("provmigr").
    static let advisoryLockKey: Int64 = 0x7072_6f76_6d69_6772

    public init(pool: PostgresPool, directory: URL, logger: Logger) {
        self.pool = pool
        self.directory = directory
        self.logger = logger
    }

    /// The migration files, sorted by version. Files not ending in `.sql` are ignored; a `.sql`
    /// file with a malformed name or a version used twice is an error.
    public func available() throws -> [Migration] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw MigrationError.directoryNotFound(path: directory.path)
        }
        let fileNames = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var migrations: [Migration] = []
        var filesByVersion: [Int: [String]] = [:]
        for fileName in fileNames.sorted() where fileName.hasSuffix(".sql") && !fileName.hasPrefix(".") {
            guard let (version, name) = Migration.parseFileName(fileName) else {
                throw MigrationError.invalidFileName(fileName)
            }
            filesByVersion[version, default: []].append(fileName)
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(fileName)))
            guard let sql = String(validating: bytes, as: UTF8.self) else {
                throw MigrationError.unreadableFile(fileName)
            }
            migrations.append(Migration(version: version, name: name, sql: sql, checksum: SHA256.hexDigest(bytes)))
        }
        if let (version, files) = filesByVersion.filter({ $0.value.count > 1 }).min(by: { $0.key < $1.key }) {
            throw MigrationError.duplicateVersion(version, files: files)
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Compares the files with what the database has applied, changing nothing.
    public func status() async throws -> MigrationStatus {
        try await status(of: available())
    }

    /// Compares `migrations` (read once with ``available()``) with what the database has applied,
    /// changing nothing: for callers that check often, such as a readiness probe.
    public func status(of migrations: [Migration]) async throws -> MigrationStatus {
        let applied = try await pool.withConnection { connection in
            let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            guard let row = exists.first, try row.decode(Bool.self, "present") else {
                return [AppliedMigration]()
            }
            return try Self.appliedMigrations(on: connection)
        }
        return Self.status(applied: applied, available: migrations)
    }

    /// Applies the pending migrations and returns them. Refuses, applying nothing, when an applied
    /// migration's file changed or is missing. Concurrent migrators (other processes included)
    /// wait for each other, so each migration is applied once.
    @discardableResult
    public func apply() async throws -> [Migration] {
        let migrations = try available()
        let logger = self.logger
        return try await pool.withConnection { connection in
            try Self.applyLocked(migrations, on: connection, logger: logger)
        }
    }

    // MARK: - Implementation

    struct AppliedMigration: Sendable {
        var version: Int
        var name: String
        var checksum: String
    }

    private static func appliedMigrations(on connection: PostgresConnection) throws(DatabaseError) -> [AppliedMigration] {
        var applied: [AppliedMigration] = []
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
            applied.append(
                AppliedMigration(
                    version: try row.decode(Int.self, "version"),
                    name: try row.decode(String.self, "name"),
                    checksum: try row.decode(String.self, "checksum")
                )
            )
        }
        return applied
    }

    static func status(applied: [AppliedMigration], available: [Migration]) -> MigrationStatus {
        let files = Dictionary(available.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })
        let modified = applied.first { record in
            guard let file = files[record.version] else {
                return false
            }
            return file.checksum != record.checksum
        }
        if let modified {
            return .modified(version: modified.version, name: modified.name)
        }
        let unknown = applied.map(\.version).filter { files[$0] == nil }
        if !unknown.isEmpty {
            return .ahead(unknown: unknown)
        }
        let appliedVersions = Set(applied.map(\.version))
        let current = applied.map(\.version).max() ?? 0
        let pending = available.map(\.version).filter { !appliedVersions.contains($0) }
        return pending.isEmpty ? .current(version: current) : .behind(current: current, pending: pending)
    }

    private static func applyLocked(
        _ migrations: [Migration],
        on connection: PostgresConnection,
        logger: Logger
    ) throws -> [Migration] {
        try connection.simpleQuery("SET statement_timeout = 0")
        defer { try? connection.simpleQuery("SET statement_timeout = \(connection.statementTimeoutMilliseconds)") }
        try connection.simpleQuery("SELECT pg_advisory_lock(\(advisoryLockKey))")
        defer { try? connection.simpleQuery("SELECT pg_advisory_unlock(\(advisoryLockKey))") }

        try connection.simpleQuery(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        let applied = try appliedMigrations(on: connection)
        switch status(applied: applied, available: migrations) {
        case .modified(let version, let name):
            throw MigrationError.modifiedMigration(version: version, name: name)
        case .ahead(let unknown):
            throw MigrationError.unknownAppliedMigration(version: unknown.first ?? 0)
        case .current:
            return []
        case .behind:
            break
        }

        let appliedVersions = Set(applied.map(\.version))
        var newlyApplied: [Migration] = []
        for migration in migrations where !appliedVersions.contains(migration.version) {
            do {
                try connection.simpleQuery("BEGIN")
                try connection.simpleQuery(migration.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum]
                )
                try connection.simpleQuery("COMMIT")
            } catch {
                if connection.transactionState != .idle {
                    try? connection.simpleQuery("ROLLBACK")
                }
                var metadata: Logger.Metadata = ["migration.version": "\(migration.version)"]
                if let sqlState = error.sqlState {
                    metadata["db.sqlstate"] = "\(sqlState.rawValue)"
                }
                logger.error("postgres migration failed", metadata: metadata)
                throw MigrationError.migrationFailed(version: migration.version, name: migration.name, underlying: error)
            }
            logger.info(
                "postgres migration applied",
                metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"]
            )
            newlyApplied.append(migration)
        }
        return newlyApplied
    }
}
