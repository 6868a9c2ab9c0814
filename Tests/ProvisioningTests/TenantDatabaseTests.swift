import JWT
import Logging
import Postgres
import Provisioning
import TestSupport
import Testing

/// Tenant roles and databases on the real test server (`PROVISIONER_TEST_DATABASE_URL`, whose
/// role is a superuser): created with least privilege, idempotent step by step, reachable only by
/// their own role and their stack's role, dropped without a trace. Every test uses fresh random
/// names and drops what it made.
@Suite(.timeLimit(.minutes(3))) struct TenantDatabaseTests {
    static let logger = Logger(label: "tenant-database-tests")

    /// A provisioner on the test server and the admin pool it uses, closed afterwards; every
    /// tenant and stack role in `tenants` / `stacks` is dropped afterwards, also when `body` throws.
    static func withProvisioner(
        tenants: [TenantDatabase],
        stacks: [StackDatabaseRole],
        _ body: (TenantDatabaseProvisioner, PostgresPool) async throws -> Void
    ) async throws {
        let admin = try TestDatabase.baseConnectionString()
        let pool = PostgresPool(configuration: TenantDatabaseProvisioner.adminConfiguration(connectionString: admin), logger: logger)
        let provisioner = TenantDatabaseProvisioner(adminPool: pool, logger: logger)
        let result: Result<Void, any Error>
        do {
            try await body(provisioner, pool)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        for tenant in tenants {
            try? await provisioner.drop(tenant)
        }
        for stack in stacks {
            try? await provisioner.dropStackRole(stack)
        }
        await pool.close()
        try result.get()
    }

    /// `SELECT session_user, current_user` on `database` as `user`, through a connection string
    /// made from the admin one with the role, password and database swapped.
    static func whoAmI(user: String, password: DatabasePassword, database: String) async throws -> (session: String, current: String) {
        try await asRole(user, password: password, database: database) { pool in
            let row = try #require(try await pool.query("SELECT session_user AS s, current_user AS c").first)
            return (try row.decode(String.self, "s"), try row.decode(String.self, "c"))
        }
    }

    static func asRole<T: Sendable>(
        _ user: String,
        password: DatabasePassword,
        database: String,
        _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        let connectionString = try PostgresConnectionString.replacing(
            try TestDatabase.baseConnectionString(),
            with: ["user": user, "password": password.text, "dbname": database]
        )
        let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: connectionString, poolSize: 1), logger: logger)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(pool))
        } catch {
            result = .failure(error)
        }
        await pool.close()
        return try result.get()
    }

    /// The error of connecting to `database` as `user`, nil if the connection succeeded.
    static func refusal(user: String, password: DatabasePassword, database: String) async throws -> DatabaseError? {
        do {
            _ = try await whoAmI(user: user, password: password, database: database)
            return nil
        } catch let error as DatabaseError {
            return error
        }
    }

    /// Everything the server records about a tenant: its role's attributes and password verifier,
    /// its database's identity, owner and ACL, the stack's membership and per-database setting.
    static func snapshot(_ tenant: TenantDatabase, stack: StackDatabaseRole, on pool: PostgresPool) async throws -> [String?] {
        let row = try #require(
            try await pool.query(
                """
                SELECT
                    (SELECT row(oid, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication,
                                rolbypassrls, rolconnlimit, rolpassword)::text FROM pg_authid WHERE rolname = $1) AS tenant_role,
                    (SELECT row(oid, rolcanlogin, rolconnlimit, rolpassword)::text FROM pg_authid WHERE rolname = $3) AS stack_role,
                    (SELECT row(oid, datdba, datacl, datconnlimit)::text FROM pg_database WHERE datname = $2) AS database,
                    (SELECT string_agg(row(roleid, member, admin_option)::text, ',') FROM pg_auth_members
                        WHERE roleid = to_regrole($1)) AS membership,
                    (SELECT string_agg(setconfig::text, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                        WHERE d.datname = $2) AS settings
                """,
                [tenant.roleName, tenant.databaseName, stack.roleName]
            ).first
        )
        return try ["tenant_role", "stack_role", "database", "membership", "settings"].map { column throws in
            try row.decodeIfPresent(String.self, column)
        }
    }

    // MARK: - Provisioning

    @Test func provisioningCreatesLeastPrivilegeRoleAndOwnedDatabase() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack]) { provisioner, pool in
            let limit = try #require(TenantDatabase.connectionLimit(forSize: "m"))
            try await provisioner.provision(
                tenant, password: .generate(), connectionLimit: limit, stack: stack, stackPassword: .generate()
            )
            let role = try #require(
                try await pool.query(
                    """
                    SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit
                    FROM pg_roles WHERE rolname = $1
                    """,
                    [tenant.roleName]
                ).first
            )
            #expect(try role.decode(Bool.self, "rolcanlogin"))
            #expect(try !role.decode(Bool.self, "rolsuper"))
            #expect(try !role.decode(Bool.self, "rolcreatedb"))
            #expect(try !role.decode(Bool.self, "rolcreaterole"))
            #expect(try !role.decode(Bool.self, "rolreplication"))
            #expect(try !role.decode(Bool.self, "rolbypassrls"))
            #expect(try role.decode(Int.self, "rolconnlimit") == 10)

            let stackRole = try #require(
                try await pool.query("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1", [stack.roleName])
                    .first
            )
            #expect(try stackRole.decode(Bool.self, "rolcanlogin"))
            #expect(try !stackRole.decode(Bool.self, "rolsuper"))
            #expect(try !stackRole.decode(Bool.self, "rolcreatedb"))
            #expect(try !stackRole.decode(Bool.self, "rolcreaterole"))

            let database = try #require(
                try await pool.query(
                    """
                    SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding, datcollate,
                        has_database_privilege($2, datname, 'CONNECT') AS tenant_connects,
                        has_database_privilege($3, datname, 'CONNECT') AS stack_connects,
                        has_database_privilege('public', datname, 'CONNECT') AS public_connects,
                        has_database_privilege('public', datname, 'TEMPORARY') AS public_temporary,
                        pg_has_role($3, $2, 'MEMBER') AS stack_is_member
                    FROM pg_database WHERE datname = $1
                    """,
                    [tenant.databaseName, tenant.roleName, stack.roleName]
                ).first
            )
            #expect(try database.decode(String.self, "owner") == tenant.roleName)
            #expect(try database.decode(String.self, "encoding") == "UTF8")
            #expect(try database.decode(String.self, "datcollate") == "C")
            #expect(try database.decode(Bool.self, "tenant_connects"))
            #expect(try database.decode(Bool.self, "stack_connects"))
            #expect(try !database.decode(Bool.self, "public_connects"))
            #expect(try !database.decode(Bool.self, "public_temporary"))
            #expect(try database.decode(Bool.self, "stack_is_member"))
            // No grant names the stack role: it connects only through its membership.
            let direct = try await pool.query(
                "SELECT 1 FROM pg_database, aclexplode(datacl) a WHERE datname = $1 AND a.grantee = to_regrole($2)",
                [tenant.databaseName, stack.roleName]
            )
            #expect(direct.isEmpty)
        }
    }

    @Test func runningEveryStepTwiceChangesNothing() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack]) { provisioner, pool in
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            #expect(try await provisioner.ensureStackRole(stack, password: stackPassword) == .created)
            #expect(try await provisioner.ensureTenantRole(tenant, password: password, connectionLimit: 5) == .created)
            #expect(try await provisioner.ensureDatabase(tenant) == .created)
            try await provisioner.ensureAccess(tenant, stack: stack)
            let first = try await Self.snapshot(tenant, stack: stack, on: pool)
            #expect(first.allSatisfy { $0 != nil })

            #expect(try await provisioner.ensureStackRole(stack, password: stackPassword) == .unchanged)
            #expect(try await provisioner.ensureTenantRole(tenant, password: password, connectionLimit: 5) == .unchanged)
            #expect(try await provisioner.ensureDatabase(tenant) == .unchanged)
            try await provisioner.ensureAccess(tenant, stack: stack)
            try await provisioner.provision(tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
            #expect(try await Self.snapshot(tenant, stack: stack, on: pool) == first)
        }
    }

    /// A job killed after `completedSteps` of the four steps: running the whole provisioning again
    /// completes it, and the roles keep the passwords on record.
    @Test(arguments: 0...4) func crashBetweenStepsCompletesOnRetry(completedSteps: Int) async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack]) { provisioner, _ in
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            let steps: [() async throws -> Void] = [
                { try await provisioner.ensureStackRole(stack, password: stackPassword) },
                { try await provisioner.ensureTenantRole(tenant, password: password, connectionLimit: 3) },
                { try await provisioner.ensureDatabase(tenant) },
                { try await provisioner.ensureAccess(tenant, stack: stack) },
            ]
            for step in steps.prefix(completedSteps) {
                try await step()
            }
            try await provisioner.provision(tenant, password: password, connectionLimit: 3, stack: stack, stackPassword: stackPassword)

            let tenantSession = try await Self.whoAmI(user: tenant.roleName, password: password, database: tenant.databaseName)
            #expect(tenantSession.current == tenant.roleName)
            let stackSession = try await Self.whoAmI(user: stack.roleName, password: stackPassword, database: tenant.databaseName)
            #expect(stackSession.session == stack.roleName)
        }
    }

    @Test func concurrentRunsOfTheSameProvisioningBothSucceed() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack]) { _, _ in
            let admin = try TestDatabase.baseConnectionString()
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            // Four workers, each with its own admin connection, racing through every step.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await TenantDatabaseProvisioner.withAdmin(connectionString: admin, logger: Self.logger) { provisioner in
                            try await provisioner.provision(
                                tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            let session = try await Self.whoAmI(user: tenant.roleName, password: password, database: tenant.databaseName)
            #expect(session.current == tenant.roleName)
        }
    }

    @Test func resizeCorrectsTheConnectionLimitOnly() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack]) { provisioner, pool in
            let password = DatabasePassword.generate()
            try await provisioner.ensureTenantRole(tenant, password: password, connectionLimit: 5)
            #expect(try await provisioner.ensureTenantRole(tenant, password: .generate(), connectionLimit: 20) == .updated)
            let limit = try #require(try await pool.query("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", [tenant.roleName]).first)
            #expect(try limit.decode(Int.self, "rolconnlimit") == 20)
            // The password on record still works: an existing role keeps its password.
            try await provisioner.ensureDatabase(tenant)
            try await provisioner.ensureStackRole(stack, password: .generate())
            try await provisioner.ensureAccess(tenant, stack: stack)
            let session = try await Self.whoAmI(user: tenant.roleName, password: password, database: tenant.databaseName)
            #expect(session.current == tenant.roleName)
            // Resetting on purpose changes it.
            let rotated = DatabasePassword.generate()
            try await provisioner.resetPassword(role: tenant.roleName, to: rotated)
            #expect(try await Self.refusal(user: tenant.roleName, password: password, database: tenant.databaseName) != nil)
            #expect(try await Self.whoAmI(user: tenant.roleName, password: rotated, database: tenant.databaseName).current == tenant.roleName)
        }
    }

    // MARK: - Access

    @Test func tenantRoleConnectsToItsOwnDatabaseOnly() async throws {
        let first = TenantDatabase.generate()
        let second = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [first, second], stacks: [stack]) { provisioner, _ in
            let firstPassword = DatabasePassword.generate()
            let secondPassword = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            try await provisioner.provision(first, password: firstPassword, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
            try await provisioner.provision(second, password: secondPassword, connectionLimit: 5, stack: stack, stackPassword: stackPassword)

            let own = try await Self.whoAmI(user: first.roleName, password: firstPassword, database: first.databaseName)
            #expect(own.session == first.roleName && own.current == first.roleName)

            let refused = try #require(try await Self.refusal(user: first.roleName, password: firstPassword, database: second.databaseName))
            #expect(refused.kind == .connectionFailed)
            #expect(refused.serverMessage?.contains("permission denied for database") == true)
            // Another tenant's password does not open the role either.
            let wrongPassword = try #require(try await Self.refusal(user: first.roleName, password: secondPassword, database: first.databaseName))
            #expect(wrongPassword.kind == .connectionFailed)
        }
    }

    @Test func stackRoleReachesItsTenantsThroughMembershipAsEachTenant() async throws {
        let first = TenantDatabase.generate()
        let second = TenantDatabase.generate()
        let other = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        let otherStack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [first, second, other], stacks: [stack, otherStack]) { provisioner, _ in
            let passwords = (first: DatabasePassword.generate(), second: DatabasePassword.generate(), other: DatabasePassword.generate())
            let stackPassword = DatabasePassword.generate()
            try await provisioner.provision(first, password: passwords.first, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
            try await provisioner.provision(second, password: passwords.second, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
            try await provisioner.provision(other, password: passwords.other, connectionLimit: 5, stack: otherStack, stackPassword: .generate())

            for tenant in [first, second] {
                let session = try await Self.whoAmI(user: stack.roleName, password: stackPassword, database: tenant.databaseName)
                #expect(session.session == stack.roleName)
                #expect(session.current == tenant.roleName)
            }
            // Not a member of another stack's tenant: refused.
            let refused = try #require(try await Self.refusal(user: stack.roleName, password: stackPassword, database: other.databaseName))
            #expect(refused.serverMessage?.contains("permission denied for database") == true)

            // What Odoo creates through the stack role belongs to the tenant role, which reads it.
            try await Self.asRole(stack.roleName, password: stackPassword, database: first.databaseName) { pool in
                try await pool.query("CREATE TABLE res_partner (id serial PRIMARY KEY, name text)")
                try await pool.query("INSERT INTO res_partner (name) VALUES ('Acme')")
            }
            try await Self.asRole(first.roleName, password: passwords.first, database: first.databaseName) { pool in
                let row = try #require(
                    try await pool.query(
                        "SELECT tableowner, (SELECT name FROM res_partner) AS name FROM pg_tables WHERE tablename = 'res_partner'"
                    ).first
                )
                #expect(try row.decode(String.self, "tableowner") == first.roleName)
                #expect(try row.decode(String.self, "name") == "Acme")
            }
        }
    }

    @Test func publicCannotConnect() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        // A login role that is neither the tenant nor its stack, made like a stack role elsewhere.
        let outsider = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack, outsider]) { provisioner, _ in
            try await provisioner.provision(tenant, password: .generate(), connectionLimit: 5, stack: stack, stackPassword: .generate())
            let outsiderPassword = DatabasePassword.generate()
            try await provisioner.ensureStackRole(outsider, password: outsiderPassword)
            let refused = try #require(try await Self.refusal(user: outsider.roleName, password: outsiderPassword, database: tenant.databaseName))
            #expect(refused.kind == .connectionFailed)
            #expect(refused.serverMessage?.contains("permission denied for database") == true)
        }
    }

    // MARK: - Deletion

    @Test func dropRemovesDatabaseAndRoleEvenWithSessionsOpenAndIsIdempotent() async throws {
        let tenant = TenantDatabase.generate()
        let kept = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant, kept], stacks: [stack]) { provisioner, pool in
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            try await provisioner.provision(tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
            try await provisioner.provision(kept, password: .generate(), connectionLimit: 5, stack: stack, stackPassword: stackPassword)

            // Sessions of the tenant and of its stack stay open (idle in their pools) during the drop.
            try await Self.asRole(tenant.roleName, password: password, database: tenant.databaseName) { tenantPool in
                try await tenantPool.query("SELECT 1")
                try await Self.asRole(stack.roleName, password: stackPassword, database: tenant.databaseName) { stackPool in
                    try await stackPool.query("SELECT 1")
                    try await provisioner.drop(tenant, stack: stack)
                }
            }
            let remaining = try #require(
                try await pool.query(
                    """
                    SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) AS databases,
                        (SELECT count(*) FROM pg_roles WHERE rolname = $2) AS roles,
                        (SELECT count(*) FROM pg_roles WHERE rolname = $3) AS stack_roles,
                        pg_has_role($3, $4, 'MEMBER') AS still_serves_kept
                    """,
                    [tenant.databaseName, tenant.roleName, stack.roleName, kept.roleName]
                ).first
            )
            #expect(try remaining.decode(Int.self, "databases") == 0)
            #expect(try remaining.decode(Int.self, "roles") == 0)
            #expect(try remaining.decode(Int.self, "stack_roles") == 1)
            #expect(try remaining.decode(Bool.self, "still_serves_kept"))

            // Again, with and without the stack: nothing left to do, no error.
            try await provisioner.drop(tenant, stack: stack)
            try await provisioner.drop(tenant)
        }
    }

    /// A managed server gives no superuser: an admin with `CREATEROLE`, `CREATEDB` and
    /// `pg_signal_backend` provisions, and drops while the stack's sessions are open.
    @Test func nonSuperuserAdminProvisionsAndDrops() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        let admin = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack, admin]) { _, pool in
            let adminPassword = DatabasePassword.generate()
            try await pool.withConnection { connection in
                let quoted = try connection.quoteIdentifier(admin.roleName)
                let verifier = try connection.scramVerifier(password: adminPassword.text, role: admin.roleName)
                try connection.simpleQuery(
                    "CREATE ROLE \(quoted) LOGIN CREATEROLE CREATEDB PASSWORD \(try connection.quoteLiteral(verifier)); "
                        + "GRANT pg_signal_backend TO \(quoted)"
                )
            }
            let adminURL = try PostgresConnectionString.replacing(
                try TestDatabase.baseConnectionString(),
                with: ["user": admin.roleName, "password": adminPassword.text]
            )
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            try await TenantDatabaseProvisioner.withAdmin(connectionString: adminURL, logger: Self.logger) { provisioner in
                try await provisioner.provision(tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
                try await provisioner.provision(tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
                #expect(try await Self.whoAmI(user: tenant.roleName, password: password, database: tenant.databaseName).current == tenant.roleName)
                try await Self.asRole(stack.roleName, password: stackPassword, database: tenant.databaseName) { stackPool in
                    try await stackPool.query("SELECT 1")
                    try await provisioner.drop(tenant, stack: stack)
                }
                try await provisioner.dropStackRole(stack)
            }
            let remaining = try #require(
                try await pool.query(
                    """
                    SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) AS databases,
                        (SELECT count(*) FROM pg_roles WHERE rolname IN ($2, $3)) AS roles
                    """,
                    [tenant.databaseName, tenant.roleName, stack.roleName]
                ).first
            )
            #expect(try remaining.decode(Int.self, "databases") == 0)
            #expect(try remaining.decode(Int.self, "roles") == 0)
        }
    }

    // MARK: - Names

    @Test func namesAreRandomValidAndNeverReusedForTheSameSlug() async throws {
        // Two tenants with the same slug (say "shop", one deleted and recreated) get different names.
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let tenant = TenantDatabase.generate()
            #expect(seen.insert(tenant.databaseName).inserted)
            #expect(DatabaseObjectName.isValid(tenant.databaseName) && DatabaseObjectName.isValid(tenant.roleName))
            #expect(tenant.databaseName.utf8.count <= 63)
            #expect(try TenantDatabase(databaseName: tenant.databaseName) == tenant)
        }
        let stack = StackDatabaseRole.generate()
        #expect(stack.roleName.hasPrefix("s_") && DatabaseObjectName.isValid(stack.roleName))
        #expect(try StackDatabaseRole(roleName: stack.roleName) == stack)
    }

    @Test(arguments: ["", "ABC", "a-b", "a b", "a\"b", "x;drop", "é", String(repeating: "a", count: 33)])
    func invalidIDsAreRefused(id: String) {
        #expect(throws: TenantDatabaseError.invalidName(id)) { try TenantDatabase(id: id) }
        #expect(throws: TenantDatabaseError.self) { try StackDatabaseRole(id: id) }
        #expect(throws: TenantDatabaseError.self) { try TenantDatabase(databaseName: "t_" + id) }
    }

    @Test(arguments: [
        ("t_abc", true), ("a", true), (String(repeating: "a", count: 63), true), (String(repeating: "a", count: 64), false),
        ("_a", false), ("1a", false), ("T_abc", false), ("t-abc", false), ("", false),
    ])
    func nameValidation(name: String, valid: Bool) {
        #expect(DatabaseObjectName.isValid(name) == valid)
    }

    // MARK: - Secrets

    @Test func passwordsSealWithTheMasterKeyAndNeverPrint() throws {
        let key = SecureRandom.bytes(32)
        let password = DatabasePassword.generate()
        #expect(password.text.utf8.count == 43)
        let sealed = try password.sealed(masterKey: key)
        #expect(!String(decoding: sealed, as: UTF8.self).contains(password.text))
        #expect(try DatabasePassword(sealed: sealed, masterKey: key) == password)
        #expect(throws: JWTError.self) { try DatabasePassword(sealed: sealed, masterKey: SecureRandom.bytes(32)) }
        #expect(!"\(password)".contains(password.text))
        #expect(!String(reflecting: password).contains(password.text))
    }

    @Test func errorsNeverCarryPasswords() async throws {
        let tenant = TenantDatabase.generate()
        let stack = StackDatabaseRole.generate()
        // An admin that may log in but not create roles: the role step fails with 42501.
        let weakAdmin = StackDatabaseRole.generate()
        try await Self.withProvisioner(tenants: [tenant], stacks: [stack, weakAdmin]) { provisioner, _ in
            let weakPassword = DatabasePassword.generate()
            try await provisioner.ensureStackRole(weakAdmin, password: weakPassword)
            let weakAdminURL = try PostgresConnectionString.replacing(
                try TestDatabase.baseConnectionString(),
                with: ["user": weakAdmin.roleName, "password": weakPassword.text]
            )
            let password = DatabasePassword.generate()
            let stackPassword = DatabasePassword.generate()
            let secrets = [password.text, stackPassword.text, weakPassword.text]

            let refused = try await #require(throws: TenantDatabaseError.self) {
                try await TenantDatabaseProvisioner.withAdmin(connectionString: weakAdminURL, logger: Self.logger) { weak in
                    try await weak.provision(tenant, password: password, connectionLimit: 5, stack: stack, stackPassword: stackPassword)
                }
            }
            #expect(refused == .failed(step: .stackRole, sqlState: .insufficientPrivilege))

            // A wrong admin password: the connection fails; the error names neither password.
            let badURL = try PostgresConnectionString.replacing(weakAdminURL, with: ["password": password.text])
            let unreachable = try await #require(throws: TenantDatabaseError.self) {
                try await TenantDatabaseProvisioner.withAdmin(connectionString: badURL, logger: Self.logger) { weak in
                    try await weak.ensureTenantRole(tenant, password: password, connectionLimit: 5)
                }
            }
            #expect(unreachable.isRetryable)

            // A malformed connection string holding a password.
            let malformed = #expect(throws: DatabaseError.self) {
                try PostgresConnectionString.replacing("postgresql://u:\(password.text)@host:notaport/db?bogus", with: [:])
            }

            let descriptions =
                [refused, unreachable].flatMap { ["\($0)", String(reflecting: $0)] }
                + [malformed].compactMap { $0 }.flatMap { ["\($0)", String(reflecting: $0), $0.serverMessage ?? ""] }
            for description in descriptions {
                for secret in secrets {
                    #expect(!description.contains(secret), "\(description)")
                }
            }
        }
    }

    @Test func connectionStringsAreRewrittenWithQuoting() throws {
        let rewritten = try PostgresConnectionString.replacing(
            "postgresql://admin:s3cret@db1.example:5432,db2.example:5433/postgres?sslmode=require&connect_timeout=4",
            with: ["user": "t_abc", "password": "it's \\ odd", "dbname": "t_abc"]
        )
        #expect(rewritten.contains("host='db1.example,db2.example'"))
        #expect(rewritten.contains("port='5432,5433'"))
        #expect(rewritten.contains("sslmode='require'"))
        #expect(rewritten.contains("password='it\\'s \\\\ odd'"))
        #expect(rewritten.contains("user='t_abc'") && rewritten.contains("dbname='t_abc'"))
        #expect(!rewritten.contains("admin") && !rewritten.contains("s3cret"))
    }
}
