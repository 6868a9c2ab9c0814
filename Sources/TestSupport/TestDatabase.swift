public import Foundation
import Logging
public import Postgres

/// A fresh schema per test on the development/CI PostgreSQL server named by
/// `PROVISIONER_TEST_DATABASE_URL`.
public enum TestDatabase {
    public static let environmentVariable = "PROVISIONER_TEST_DATABASE_URL"

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The base connection string. Missing configuration is an error, never a reason to skip.
    public static func baseConnectionString() throws -> String {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty else {
            throw ConfigurationError(
                description: """
                    \(environmentVariable) is not set: database tests need a PostgreSQL server. Start one and \
                    export \(environmentVariable)=postgresql://postgres@127.0.0.1:5432/postgres (any libpq \
                    connection string) before running the tests.
                    """
            )
        }
        return value
    }

    /// The repository's root folder (found from this file's location).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()
    }

    /// Creates a uniquely named schema, gives `body` a pool whose connections use it as their
    /// search_path (and the connection string that does so), and drops the schema afterwards, also
    /// when `body` throws. With `migrate`, the repository's migrations/ are applied first.
    public static func withSchema<T>(
        migrate: Bool = true,
        poolSize: Int = 4,
        acquireTimeout: Duration = .seconds(5),
        _ body: (PostgresPool, String) async throws -> T
    ) async throws -> T {
        let base = try baseConnectionString()
        let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let logger = Logger(label: "test-database")

        try await administer(base, logger: logger, "CREATE SCHEMA \(schema)")
        let connectionString = appendingSearchPath(schema, to: base)
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: connectionString, poolSize: poolSize, acquireTimeout: acquireTimeout
            ),
            logger: logger
        )
        let result: Result<T, any Error>
        do {
            if migrate {
                let directory = repositoryRoot.appendingPathComponent("migrations")
                try await Migrator(pool: pool, directory: directory, logger: logger).apply()
            }
            result = .success(try await body(pool, connectionString))
        } catch {
            result = .failure(error)
        }
        await pool.close()
        try await administer(base, logger: logger, "DROP SCHEMA IF EXISTS \(schema) CASCADE")
        return try result.get()
    }

    /// `options=-csearch_path=<schema>` added to a URI or a key/value connection string. In a URI
    /// an existing `options` parameter is kept and extended.
    public static func appendingSearchPath(_ schema: String, to connectionString: String) -> String {
        let option = "-csearch_path=\(schema)"
        let trimmed = connectionString.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://") else {
            return trimmed + " options='\(option)'"
        }
        let encoded = option.replacingOccurrences(of: "=", with: "%3D")
        guard let questionMark = trimmed.firstIndex(of: "?") else {
            return trimmed + "?options=" + encoded
        }
        var parameters = trimmed[trimmed.index(after: questionMark)...]
            .split(separator: "&", omittingEmptySubsequences: true)
            .map(String.init)
        if let index = parameters.firstIndex(where: { $0.hasPrefix("options=") }) {
            parameters[index] += "%20" + encoded
        } else {
            parameters.append("options=" + encoded)
        }
        return trimmed[..<questionMark] + "?" + parameters.joined(separator: "&")
    }

    private static func administer(_ connectionString: String, logger: Logger, _ sql: String) async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: connectionString, poolSize: 1),
            logger: logger
        )
        do {
            try await pool.withConnection { try $0.simpleQuery(sql) }
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }
}
