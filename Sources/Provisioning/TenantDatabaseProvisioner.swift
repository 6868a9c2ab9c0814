public import Logging
public import Postgres

/// Creates and drops shared tenants' roles and databases on a region's shared PostgreSQL server,
/// through an admin role (the region's `shared_postgres_url`): a superuser, or, on a managed
/// server, a role with `CREATEROLE` and `CREATEDB` (it makes itself a member of each tenant role
/// it gives a database to) and `pg_signal_backend` (to end the stack's sessions when dropping).
///
/// Every step checks, then creates, and tolerates "already exists" from a concurrent run, so a job
/// killed between any two steps completes when it runs again; a step that finds its object as
/// wanted changes nothing. Names and literals are quoted by libpq; passwords reach the server only
/// as SCRAM verifiers computed here, and never appear in errors or logs.
///
/// ## Roles and membership
///
/// - The tenant role `t_<id>`: `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
///   NOBYPASSRLS`, a `CONNECTION LIMIT` from the tenant's size, its own password. It owns the
///   tenant's database, so tenant-scoped access (exports, BI, restores) needs nothing else. It
///   keeps `INHERIT`: it belongs to no role of ours, and PostgreSQL gives a database's owner the
///   rights of `pg_database_owner` (the owner of schema `public`, hence `CREATE` there) only
///   through inheritance.
/// - The stack role `s_<id>` of a shared stack: `LOGIN` with its own password (its Odoo processes
///   connect as it), otherwise the same restrictions, and `INHERIT`. It is granted membership in
///   each of its tenants' roles (`GRANT t_<id> TO s_<id>`), which gives it `CONNECT` on their
///   databases through inheritance: no grant names the stack role directly, so removing the
///   membership removes all of its access.
/// - In each tenant's database the stack role's sessions start as the tenant role
///   (`ALTER ROLE s_<id> IN DATABASE t_<id> SET role = 't_<id>'`), so the tables Odoo creates
///   are owned by the tenant role, which can then dump, restore and read them, and a session acts
///   with the privileges of that one tenant only.
/// - `PUBLIC` loses every privilege on the database (`CONNECT` and `TEMPORARY`); the tenant role
///   is granted `CONNECT` and `TEMPORARY` explicitly.
///
/// ## Passwords
///
/// The caller generates a password (``DatabasePassword/generate()``), seals it with the master key
/// and records it *before* the role step, then passes the same password on every retry. A step
/// that finds the role already there keeps its password (it is the one on record) and only
/// corrects its attributes; ``resetPassword(role:to:)`` changes a password on purpose.
public struct TenantDatabaseProvisioner: Sendable {
    /// What a step found and did.
    public enum Outcome: Sendable, Equatable {
        /// The object did not exist and was created.
        case created
        /// The object existed and was changed to match (attributes, owner).
        case updated
        /// The object existed as wanted; nothing was sent but the check.
        case unchanged
    }

    let pool: PostgresPool
    let logger: Logger

    /// Works through `adminPool`, connected as the admin role of the shared server (see
    /// ``adminConfiguration(connectionString:)``).
    public init(adminPool: PostgresPool, logger: Logger) {
        self.pool = adminPool
        self.logger = logger
    }

    /// A configuration for the admin pool: one connection, and a statement timeout long enough
    /// for `CREATE DATABASE` (a copy of `template0`, with a checkpoint) on a busy server.
    public static func adminConfiguration(connectionString: String, statementTimeout: Duration = .seconds(120)) -> PostgresConfiguration {
        PostgresConfiguration(
            connectionString: connectionString,
            poolSize: 1,
            statementTimeout: statementTimeout,
            connectTimeout: .seconds(5),
            acquireTimeout: statementTimeout + .seconds(5),
            applicationName: "provisioner-tenant-databases"
        )
    }

    /// Runs `body` with a provisioner on a pool of its own for `connectionString`, closed after.
    public static func withAdmin<T: Sendable>(
        connectionString: String,
        logger: Logger,
        _ body: (TenantDatabaseProvisioner) async throws -> T
    ) async throws -> T {
        let pool = PostgresPool(configuration: adminConfiguration(connectionString: connectionString), logger: logger)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(TenantDatabaseProvisioner(adminPool: pool, logger: logger)))
        } catch {
            result = .failure(error)
        }
        await pool.close()
        return try result.get()
    }

    // MARK: - Provisioning

    /// Every step for one shared tenant, in order: the stack role, the tenant role, the database,
    /// and access. Safe to run again after a failure or a crash at any point.
    public func provision(
        _ tenant: TenantDatabase,
        password: DatabasePassword,
        connectionLimit: Int,
        stack: StackDatabaseRole,
        stackPassword: DatabasePassword
    ) async throws(TenantDatabaseError) {
        try await ensureStackRole(stack, password: stackPassword)
        try await ensureTenantRole(tenant, password: password, connectionLimit: connectionLimit)
        try await ensureDatabase(tenant)
        try await ensureAccess(tenant, stack: stack)
        logger.info("tenant database provisioned", metadata: ["db.name": "\(tenant.databaseName)", "db.stack_role": "\(stack.roleName)"])
    }

    /// Step a: the stack's login role, created with `password` when missing.
    @discardableResult
    public func ensureStackRole(_ stack: StackDatabaseRole, password: DatabasePassword) async throws(TenantDatabaseError) -> Outcome {
        try await ensureRole(stack.roleName, RoleAttributes(connectionLimit: -1), password: password, step: .stackRole)
    }

    /// Step b: the tenant's login role, created with `password` when missing; an existing role's
    /// attributes (e.g. the connection limit after a resize) are corrected.
    @discardableResult
    public func ensureTenantRole(
        _ tenant: TenantDatabase,
        password: DatabasePassword,
        connectionLimit: Int
    ) async throws(TenantDatabaseError) -> Outcome {
        guard connectionLimit >= 0 else {
            throw .failed(step: .tenantRole, sqlState: "22023")
        }
        return try await ensureRole(tenant.roleName, RoleAttributes(connectionLimit: connectionLimit), password: password, step: .tenantRole)
    }

    /// Step c: the tenant's database, owned by its role (which must exist), from `template0` in
    /// UTF-8 with `C` collation as Odoo creates its own. A database found with another owner is
    /// given to the tenant role.
    @discardableResult
    public func ensureDatabase(_ tenant: TenantDatabase) async throws(TenantDatabaseError) -> Outcome {
        let database = tenant.databaseName
        let role = tenant.roleName
        let outcome = try await run(.database, locking: database) { (connection) throws(DatabaseError) -> Outcome in
            let owner = { () throws(DatabaseError) -> String? in
                try connection.query(
                    "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1",
                    [database]
                ).first?.decode(String.self, "owner")
            }
            let quotedDatabase = try connection.quoteIdentifier(database)
            let quotedRole = try connection.quoteIdentifier(role)
            var created = false
            if try owner() == nil {
                try Self.becomeMember(of: role, on: connection)
                do throws(DatabaseError) {
                    // Not in a transaction block: CREATE DATABASE refuses to run in one.
                    try connection.simpleQuery(
                        "CREATE DATABASE \(quotedDatabase) OWNER \(quotedRole) TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C'"
                    )
                    created = true
                } catch  where error.sqlState == .duplicateDatabase || error.sqlState == .uniqueViolation {
                    // Created meanwhile by another run of the same job: check it below.
                }
            }
            if created {
                return .created
            }
            guard try owner() != role else {
                return .unchanged
            }
            try Self.becomeMember(of: role, on: connection)
            try connection.simpleQuery("ALTER DATABASE \(quotedDatabase) OWNER TO \(quotedRole)")
            return .updated
        }
        logStep(.database, outcome, name: database)
        return outcome
    }

    /// Step d: `PUBLIC` loses all rights on the database, the tenant role gets `CONNECT` and
    /// `TEMPORARY`, the stack role becomes a member of the tenant role and its sessions in the
    /// database start as the tenant role. Each statement is idempotent; they are sent as one
    /// simple query, which PostgreSQL runs as one transaction.
    public func ensureAccess(_ tenant: TenantDatabase, stack: StackDatabaseRole) async throws(TenantDatabaseError) {
        let database = tenant.databaseName
        let role = tenant.roleName
        let stackRole = stack.roleName
        try await run(.access, locking: database) { (connection) throws(DatabaseError) in
            let quotedDatabase = try connection.quoteIdentifier(database)
            let quotedRole = try connection.quoteIdentifier(role)
            let quotedStack = try connection.quoteIdentifier(stackRole)
            let roleLiteral = try connection.quoteLiteral(role)
            try connection.simpleQuery(
                """
                REVOKE ALL ON DATABASE \(quotedDatabase) FROM PUBLIC;
                GRANT CONNECT, TEMPORARY ON DATABASE \(quotedDatabase) TO \(quotedRole);
                GRANT \(quotedRole) TO \(quotedStack);
                ALTER ROLE \(quotedStack) IN DATABASE \(quotedDatabase) SET role = \(roleLiteral);
                """
            )
        }
        logger.debug("tenant database step done", metadata: ["db.step": "access", "db.name": "\(database)"])
    }

    /// Sets a role's password on purpose (rotation, or a password lost before it was recorded).
    public func resetPassword(role: String, to password: DatabasePassword) async throws(TenantDatabaseError) {
        guard DatabaseObjectName.isValid(role) else {
            throw .invalidName(role)
        }
        let step: TenantDatabaseError.Step = role.hasPrefix(StackDatabaseRole.prefix) ? .stackRole : .tenantRole
        try await run(step, locking: role) { (connection) throws(DatabaseError) in
            let verifier = try connection.scramVerifier(password: password.text, role: role)
            try connection.simpleQuery("ALTER ROLE \(try connection.quoteIdentifier(role)) PASSWORD \(try connection.quoteLiteral(verifier))")
        }
    }

    /// Caps the connections to the tenant's database: `0` refuses every new session of the
    /// tenant's and the stack's roles (a suspended tenant) and, when the admin role may signal
    /// other sessions (superuser or member of `pg_signal_backend`), ends the open ones; `-1` lifts
    /// the cap (the tenant role's own limit still applies). A missing database is an error:
    /// provision first.
    public func setDatabaseConnectionLimit(_ tenant: TenantDatabase, _ limit: Int) async throws(TenantDatabaseError) {
        guard limit >= -1 else {
            throw .failed(step: .database, sqlState: "22023")
        }
        let database = tenant.databaseName
        try await run(.database, locking: database) { (connection) throws(DatabaseError) in
            try connection.simpleQuery("ALTER DATABASE \(try connection.quoteIdentifier(database)) CONNECTION LIMIT \(limit)")
            guard limit == 0 else { return }
            let mayTerminate = try connection.query(
                "SELECT rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER') AS may FROM pg_roles WHERE rolname = current_user"
            ).first?.decode(Bool.self, "may")
            if mayTerminate == true {
                _ = try connection.query(
                    "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                    [database]
                )
            }
        }
    }

    // MARK: - Deletion

    /// Drops the tenant's database (terminating its sessions, the stack's included) and then its
    /// role, after revoking the role from the stack role. Finding either gone is success.
    public func drop(_ tenant: TenantDatabase, stack: StackDatabaseRole? = nil) async throws(TenantDatabaseError) {
        let database = tenant.databaseName
        let role = tenant.roleName
        try await run(.dropDatabase, locking: database) { (connection) throws(DatabaseError) in
            let exists = try connection.query(
                "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1",
                [database]
            ).first?.decode(String.self, "owner")
            if let owner = exists {
                try Self.becomeMember(of: owner, on: connection)
            }
            // FORCE terminates the other sessions and drops in one statement, so no session can
            // slip in between.
            try connection.simpleQuery("DROP DATABASE IF EXISTS \(try connection.quoteIdentifier(database)) WITH (FORCE)")
        }
        try await run(.dropTenantRole, locking: role) { (connection) throws(DatabaseError) in
            let quotedRole = try connection.quoteIdentifier(role)
            if let stack {
                let isMember =
                    try connection.query(
                        "SELECT 1 FROM pg_auth_members WHERE roleid = to_regrole($1) AND member = to_regrole($2)",
                        [role, stack.roleName]
                    ).count > 0
                if isMember {
                    try connection.simpleQuery("REVOKE \(quotedRole) FROM \(try connection.quoteIdentifier(stack.roleName))")
                }
            }
            try connection.simpleQuery("DROP ROLE IF EXISTS \(quotedRole)")
        }
        logger.info("tenant database dropped", metadata: ["db.name": "\(database)"])
    }

    /// Drops a shared stack's role once it serves no tenant (its memberships and per-database
    /// settings go with it). Finding it gone is success.
    public func dropStackRole(_ stack: StackDatabaseRole) async throws(TenantDatabaseError) {
        let role = stack.roleName
        try await run(.dropStackRole, locking: role) { (connection) throws(DatabaseError) in
            try connection.simpleQuery("DROP ROLE IF EXISTS \(try connection.quoteIdentifier(role))")
        }
    }

    // MARK: - Steps

    /// Makes the admin role a member of `role` unless it is a superuser or a member already:
    /// PostgreSQL lets a role create, give away or drop a database only for an owner it is a
    /// member of. A `CREATEROLE` admin may grant itself the roles it created.
    static func becomeMember(of role: String, on connection: PostgresConnection) throws(DatabaseError) {
        let rows = try connection.query(
            "SELECT rolsuper OR pg_has_role(current_user, $1, 'MEMBER') AS member FROM pg_roles WHERE rolname = current_user",
            [role]
        )
        guard try rows.first?.decode(Bool.self, "member") != true else {
            return
        }
        try connection.simpleQuery("GRANT \(try connection.quoteIdentifier(role)) TO CURRENT_USER")
    }

    /// Creates `name` with `attributes` and `password` when missing; corrects the attributes of an
    /// existing role, keeping its password.
    private func ensureRole(
        _ name: String,
        _ attributes: RoleAttributes,
        password: DatabasePassword,
        step: TenantDatabaseError.Step
    ) async throws(TenantDatabaseError) -> Outcome {
        guard DatabaseObjectName.isValid(name) else {
            throw .invalidName(name)
        }
        let outcome = try await run(step, locking: name) { (connection) throws(DatabaseError) -> Outcome in
            let quoted = try connection.quoteIdentifier(name)
            if try RoleAttributes.read(name, on: connection) == nil {
                let verifier = try connection.scramVerifier(password: password.text, role: name)
                do throws(DatabaseError) {
                    try connection.simpleQuery("CREATE ROLE \(quoted) \(attributes.sql) PASSWORD \(try connection.quoteLiteral(verifier))")
                    return .created
                } catch  where error.sqlState == .duplicateObject || error.sqlState == .uniqueViolation {
                    // Created meanwhile by another run of the same job: check it below.
                }
            }
            guard try RoleAttributes.read(name, on: connection) != attributes else {
                return .unchanged
            }
            try connection.simpleQuery("ALTER ROLE \(quoted) \(attributes.sql)")
            return .updated
        }
        logStep(step, outcome, name: name)
        return outcome
    }

    /// The first key of the advisory locks taken on object names (the second is the name's hash).
    static let advisoryLockClass: Int32 = 0x5444_4231

    /// Runs `body` on the admin connection holding a session advisory lock on `name`, so two runs
    /// of the same job (a worker presumed dead and its successor) never change the same role or
    /// database at once: PostgreSQL fails concurrent `GRANT` / `REVOKE` / `ALTER` of one catalog
    /// row with "tuple concurrently updated" (XX000). A session lock, because `CREATE DATABASE`
    /// cannot run in a transaction; a broken connection releases it with the session.
    ///
    /// A database error becomes a ``TenantDatabaseError`` for `step` that keeps only the kind and
    /// the SQLSTATE.
    private func run<T: Sendable>(
        _ step: TenantDatabaseError.Step,
        locking name: String,
        _ body: @escaping @Sendable (PostgresConnection) throws(DatabaseError) -> T
    ) async throws(TenantDatabaseError) -> T {
        do {
            return try await pool.withConnection { connection in
                let key: [(any PostgresBindable)?] = [Self.advisoryLockClass, name]
                try connection.query("SELECT pg_advisory_lock($1, hashtext($2))", key)
                defer { _ = try? connection.query("SELECT pg_advisory_unlock($1, hashtext($2))", key) }
                return try body(connection)
            }
        } catch let error as DatabaseError {
            let converted = TenantDatabaseError(step: step, error)
            var metadata: Logger.Metadata = ["db.step": "\(step.rawValue)", "db.error": "\(error.kind)"]
            if let sqlState = error.sqlState {
                metadata["db.sqlstate"] = "\(sqlState.rawValue)"
            }
            logger.warning("tenant database step failed", metadata: metadata)
            throw converted
        } catch {
            // Cancellation while waiting for the connection: nothing was done; try again later.
            throw .unavailable(step: step, sqlState: nil)
        }
    }

    private func logStep(_ step: TenantDatabaseError.Step, _ outcome: Outcome, name: String) {
        logger.debug("tenant database step done", metadata: ["db.step": "\(step.rawValue)", "db.object": "\(name)", "db.outcome": "\(outcome)"])
    }
}

/// The attributes Provisioner gives its roles, as `pg_roles` shows them.
struct RoleAttributes: Equatable {
    var connectionLimit: Int

    /// Fixed for every role Provisioner creates: a login role that can do nothing but own and
    /// use what it is given.
    var canLogin = true
    var isSuperuser = false
    var canCreateDatabases = false
    var canCreateRoles = false
    var inherits = true
    var canReplicate = false
    var bypassesRowLevelSecurity = false

    /// The options of `CREATE ROLE` / `ALTER ROLE` that set these attributes.
    var sql: String {
        [
            canLogin ? "LOGIN" : "NOLOGIN",
            isSuperuser ? "SUPERUSER" : "NOSUPERUSER",
            canCreateDatabases ? "CREATEDB" : "NOCREATEDB",
            canCreateRoles ? "CREATEROLE" : "NOCREATEROLE",
            inherits ? "INHERIT" : "NOINHERIT",
            canReplicate ? "REPLICATION" : "NOREPLICATION",
            bypassesRowLevelSecurity ? "BYPASSRLS" : "NOBYPASSRLS",
            "CONNECTION LIMIT \(connectionLimit)",
        ].joined(separator: " ")
    }

    /// The attributes of role `name`, nil when there is no such role.
    static func read(_ name: String, on connection: PostgresConnection) throws(DatabaseError) -> RoleAttributes? {
        let rows = try connection.query(
            """
            SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolconnlimit
            FROM pg_roles WHERE rolname = $1
            """,
            [name]
        )
        guard let row = rows.first else {
            return nil
        }
        var attributes = RoleAttributes(connectionLimit: try row.decode(Int.self, "rolconnlimit"))
        attributes.canLogin = try row.decode(Bool.self, "rolcanlogin")
        attributes.isSuperuser = try row.decode(Bool.self, "rolsuper")
        attributes.canCreateDatabases = try row.decode(Bool.self, "rolcreatedb")
        attributes.canCreateRoles = try row.decode(Bool.self, "rolcreaterole")
        attributes.inherits = try row.decode(Bool.self, "rolinherit")
        attributes.canReplicate = try row.decode(Bool.self, "rolreplication")
        attributes.bypassesRowLevelSecurity = try row.decode(Bool.self, "rolbypassrls")
        return attributes
    }
}
