import Foundation
import Logging
import Postgres
import TestSupport
import Testing

@Suite("Connections: prepared statements, errors, settings", .timeLimit(.minutes(3)))
struct ConnectionTests {
    let logger = Logger(label: "postgres-tests")

    @Test func repeatedQueryReusesItsPreparedStatement() async throws {
        try await TestDatabase.withSchema(migrate: false, poolSize: 1) { pool, _ in
            let sql = "SELECT $1::int + 41 AS answer /* reuse test */"
            let counts = try await pool.withConnection { connection in
                let first = try connection.query(sql, [1])
                let second = try connection.query(sql, [2])
                let prepared = try connection.query(
                    "SELECT count(*) AS statements FROM pg_prepared_statements WHERE statement = $1",
                    [sql]
                )
                return (
                    try first.first?.decode(Int.self, "answer"),
                    try second.first?.decode(Int.self, "answer"),
                    try prepared.first?.decode(Int.self, "statements")
                )
            }
            #expect(counts.0 == 42)
            #expect(counts.1 == 43)
            #expect(counts.2 == 1)
            // A later lease of the same pooled connection still finds it prepared once.
            let later = try await pool.query(
                "SELECT count(*) AS statements FROM pg_prepared_statements WHERE statement = $1",
                [sql]
            )
            #expect(try later.first?.decode(Int.self, "statements") == 1)
        }
    }

    @Test func uniqueViolationReportsSQLStateAndConstraint() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.withConnection { connection in
                try connection.simpleQuery(
                    "CREATE TABLE tenants (slug text NOT NULL, CONSTRAINT tenants_slug_key UNIQUE (slug))"
                )
                try connection.execute("INSERT INTO tenants (slug) VALUES ($1)", ["acme"])
            }
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.query("INSERT INTO tenants (slug) VALUES ($1)", ["acme"])
            }
            #expect(error?.kind == .server)
            #expect(error?.sqlState == .uniqueViolation)
            #expect(error?.constraint == "tenants_slug_key")
            #expect(error?.table == "tenants")
            #expect(error?.isUnavailable == false)
            #expect(error?.serverMessage?.isEmpty == false)
            #expect(error?.description.contains("acme") == false)
        }
    }

    @Test func otherConstraintViolationsAreTyped() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            try await pool.withConnection { connection in
                try connection.simpleQuery(
                    """
                    CREATE TABLE parents (id int PRIMARY KEY);
                    CREATE TABLE children (
                        parent_id int NOT NULL CONSTRAINT children_parent_fkey REFERENCES parents (id),
                        size int CONSTRAINT children_size_check CHECK (size > 0)
                    );
                    INSERT INTO parents VALUES (1);
                    """
                )
            }
            let foreignKey = await #expect(throws: DatabaseError.self) {
                try await pool.query("INSERT INTO children (parent_id, size) VALUES ($1, $2)", [2, 1])
            }
            #expect(foreignKey?.sqlState == .foreignKeyViolation)
            #expect(foreignKey?.constraint == "children_parent_fkey")
            let notNull = await #expect(throws: DatabaseError.self) {
                try await pool.query("INSERT INTO children (parent_id, size) VALUES ($1, $2)", [nil, 1])
            }
            #expect(notNull?.sqlState == .notNullViolation)
            #expect(notNull?.column == "parent_id")
            let check = await #expect(throws: DatabaseError.self) {
                try await pool.query("INSERT INTO children (parent_id, size) VALUES ($1, $2)", [1, 0])
            }
            #expect(check?.sqlState == .checkViolation)
            #expect(check?.constraint == "children_size_check")
            let undefined = await #expect(throws: DatabaseError.self) {
                try await pool.query("SELECT * FROM no_such_table")
            }
            #expect(undefined?.sqlState == .undefinedTable)
        }
    }

    @Test func statementTimeoutCancelsSlowQueryAndConnectionStaysUsable() async throws {
        let connectionString = try TestDatabase.baseConnectionString()
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: connectionString,
                poolSize: 1,
                statementTimeout: .milliseconds(200)
            ),
            logger: logger
        )
        do {
            let started = ContinuousClock.now
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.query("SELECT pg_sleep(30)")
            }
            #expect(error?.sqlState == .queryCanceled)
            #expect(error?.isUnavailable == false)
            // Far below the 30 s sleep, with room for a loaded machine: the timeout cut it short.
            #expect(ContinuousClock.now - started < .seconds(10))
            let rows = try await pool.query("SELECT current_setting('statement_timeout') AS timeout")
            #expect(try rows.first?.decode(String.self, "timeout") == "200ms")
            #expect(pool.statistics.open == 1)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    @Test func uriAndKeyValueConnectionStringsBothWorkAndKeepTheirOwnParameters() async throws {
        try await TestDatabase.withSchema(migrate: false) { _, schemaConnectionString in
            // The schema connection string carries options=-csearch_path=...: it must survive our defaults.
            let base = try TestDatabase.baseConnectionString()
            let isURI = base.hasPrefix("postgresql://") || base.hasPrefix("postgres://")
            let uriBase = isURI ? base : try await Self.uriForm(of: base, logger: logger)
            let keyValueBase = isURI ? try Self.keyValueForm(of: base) : base
            let uri = TestDatabase.appendingSearchPath("uri_schema", to: uriBase)
            let separator = uri.contains("?") ? "&" : "?"
            let uriWithName = uri + separator + "application_name=from_uri"
            let keyValue = keyValueBase + " application_name=from_key_value options='-csearch_path=kv_schema'"

            for (connectionString, expectedName, expectedPath) in [
                (uriWithName, "from_uri", "uri_schema"),
                (keyValue, "from_key_value", "kv_schema"),
                (schemaConnectionString, "provisioner", nil),
            ] {
                let pool = PostgresPool(
                    configuration: PostgresConfiguration(connectionString: connectionString, poolSize: 1),
                    logger: logger
                )
                let result: Result<(String, String, String), any Error>
                do {
                    let row = try #require(
                        try await pool.query(
                            "SELECT current_setting('application_name') AS name, current_setting('search_path') AS path, current_setting('TimeZone') AS zone"
                        ).first
                    )
                    result = .success(
                        (try row.decode(String.self, "name"), try row.decode(String.self, "path"), try row.decode(String.self, "zone"))
                    )
                } catch {
                    result = .failure(error)
                }
                await pool.close()
                let (name, path, zone) = try result.get()
                #expect(name == expectedName)
                if let expectedPath {
                    #expect(path == expectedPath)
                } else {
                    #expect(path.hasPrefix("test_"))
                }
                #expect(zone == "UTC")
            }
        }
    }

    @Test func unreachableServerFailsFastAsUnavailable() async throws {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: "postgresql://postgres:secret-password@127.0.0.1:1/postgres",
                poolSize: 1
            ),
            logger: logger
        )
        let error = await #expect(throws: DatabaseError.self) {
            try await pool.query("SELECT 1")
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isUnavailable == true)
        #expect(error?.description.contains("secret-password") == false)
        #expect(pool.statistics.open == 0)
        await pool.close()
    }

    /// A URI reaching the same server, user and database as a key/value string (over TCP).
    static func uriForm(of keyValue: String, logger: Logger) async throws -> String {
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: keyValue, poolSize: 1),
            logger: logger
        )
        let row: PostgresRow?
        do {
            row = try await pool.query(
                "SELECT coalesce(host(inet_server_addr()), '127.0.0.1') AS host, coalesce(inet_server_port(), current_setting('port')::int) AS port, current_user AS role, current_database() AS database"
            ).first
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        let server = try #require(row)
        return "postgresql://\(try server.decode(String.self, "role"))@\(try server.decode(String.self, "host")):"
            + "\(try server.decode(Int.self, "port"))/\(try server.decode(String.self, "database"))"
    }

    /// `postgresql://user@host:port/db?k=v` to `host='...' port='...' user='...' dbname='...' k='v'`.
    static func keyValueForm(of uri: String) throws -> String {
        let components = try #require(URLComponents(string: uri))
        var pairs: [(String, String)] = []
        if let host = components.host, !host.isEmpty { pairs.append(("host", host)) }
        if let port = components.port { pairs.append(("port", String(port))) }
        if let user = components.user { pairs.append(("user", user)) }
        if let password = components.password { pairs.append(("password", password)) }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !database.isEmpty { pairs.append(("dbname", database)) }
        for item in components.queryItems ?? [] {
            pairs.append((item.name, item.value ?? ""))
        }
        return pairs.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "\(key)='\(escaped)'"
        }.joined(separator: " ")
    }
}
