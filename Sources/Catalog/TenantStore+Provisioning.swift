public import Foundation
public import Postgres

/// What workers read and write while they carry out tenant jobs. Every function runs inside the
/// caller's transaction (a job's transaction fenced by its lease), so a worker that lost its job
/// changes nothing.
extension TenantStore {
    /// The id of the live tenant of that slug; `.notFound` when there is none.
    public static func decodeID(organization: String, slug: String, _ connection: PostgresConnection) throws -> UUID {
        let rows = try connection.query(
            """
            SELECT t.id FROM tenants t JOIN organizations o ON o.id = t.organization_id
            WHERE o.slug = $1 AND t.slug = $2 AND t.status <> 'deleted'
            """,
            [organization, slug]
        )
        return try CatalogSQL.single(rows).decode(UUID.self, "id")
    }

    /// The tenant of that id with its stack and region; `.notFound` when there is none, or when it
    /// was never placed.
    public static func work(tenant id: UUID, on connection: PostgresConnection) throws -> TenantWork {
        let tenant = try fetch(id: id, connection)
        guard let stackID = tenant.stack else { throw CatalogError.notFound }
        let extra = try CatalogSQL.single(
            connection.query(
                """
                SELECT t.role_password, t.database_ready_at IS NOT NULL AS ready, r.slug AS region_slug
                FROM tenants t JOIN regions r ON r.id = t.region_id
                WHERE t.id = $1::uuid
                """,
                [id]
            )
        )
        let region = try RegionStore.decode(
            CatalogSQL.single(
                connection.query(
                    "SELECT \(RegionStore.columns) FROM regions WHERE slug = $1", [try extra.decode(String.self, "region_slug")]
                )
            )
        )
        return TenantWork(
            tenant: tenant, stack: try stackRecord(stackID, lock: false, connection), region: region,
            rolePasswordSealed: try extra.decodeIfPresent([UInt8].self, "role_password"),
            databaseReady: try extra.decode(Bool.self, "ready")
        )
    }

    /// The stack row, locked until the transaction ends when `lock` is set: renders of one stack
    /// take this lock first, so they read its tenants and commit its revisions one at a time.
    public static func stackRecord(_ id: UUID, lock: Bool, _ connection: PostgresConnection) throws -> StackRecord {
        let row = try CatalogSQL.single(
            connection.query(
                """
                SELECT s.id, s.name, r.slug AS region, s.kind, s.odoo_version, o.slug AS organization, s.tenant,
                    s.current_revision, s.version, s.created_at, s.updated_at, s.database_role, s.database_password
                FROM stacks s JOIN regions r ON r.id = s.region_id LEFT JOIN organizations o ON o.id = s.organization_id
                WHERE s.id = $1::uuid
                \(lock ? "FOR UPDATE OF s" : "")
                """,
                [id]
            )
        )
        return StackRecord(
            stack: try StackStore.decode(row), databaseRole: try row.decodeIfPresent(String.self, "database_role"),
            databasePasswordSealed: try row.decodeIfPresent([UInt8].self, "database_password")
        )
    }

    /// The tenants a stack's next revision serves. A shared stack serves its tenants whose
    /// database is ready and that are neither suspended nor being deleted; a dedicated stack
    /// serves its tenant until the tenant is purged, routed only while it is neither suspended
    /// nor being deleted. Ordered by organization and slug.
    public static func members(of stack: StackRecord, _ connection: PostgresConnection) throws -> [StackMember] {
        let rows = try connection.query(
            """
            SELECT t.id, t.slug, o.slug AS organization, t.database,
                (NOT t.suspended AND t.status NOT IN ('deleting', 'deleted')) AS routed,
                (SELECT coalesce(array_to_json(array_agg(d.domain ORDER BY d.domain)), '[]'::json)::text
                 FROM tenant_domains d WHERE d.tenant_id = t.id AND d.kind = 'custom') AS custom_domains
            FROM tenants t JOIN organizations o ON o.id = t.organization_id
            WHERE t.stack_id = $1::uuid
              AND CASE WHEN $2 = 'shared'
                       THEN t.status NOT IN ('deleting', 'deleted') AND NOT t.suspended AND t.database_ready_at IS NOT NULL
                       ELSE t.status <> 'deleted' AND t.purged_at IS NULL END
            ORDER BY o.slug, t.slug
            """,
            [stack.stack.id, stack.stack.kind.rawValue]
        )
        return try rows.map { row in
            StackMember(
                id: try row.decode(UUID.self, "id"), slug: try row.decode(String.self, "slug"),
                organization: try row.decode(String.self, "organization"),
                customDomains: try row.decodeTextArray("custom_domains"), database: try row.decode(String.self, "database"),
                routed: try row.decode(Bool.self, "routed")
            )
        }
    }

    /// Gives the stack its database role (`role`, password `sealedPassword`) unless it has one
    /// already; answers the role and sealed password the stack ends up with.
    public static func ensureStackRole(
        _ stack: UUID, role: String, sealedPassword: [UInt8], _ connection: PostgresConnection
    ) throws -> (role: String, sealedPassword: [UInt8]) {
        _ = try connection.execute(
            """
            UPDATE stacks SET database_role = $2, database_password = $3::bytea, updated_at = now()
            WHERE id = $1::uuid AND database_role IS NULL
            """,
            [stack, role, sealedPassword]
        )
        let record = try stackRecord(stack, lock: false, connection)
        guard let role = record.databaseRole, let sealed = record.databasePasswordSealed else { throw CatalogError.notFound }
        return (role, sealed)
    }

    /// Gives the tenant's role a password (sealed) unless it has one; answers the one it has.
    public static func ensureRolePassword(_ tenant: UUID, sealedPassword: [UInt8], _ connection: PostgresConnection) throws -> [UInt8] {
        let rows = try connection.query(
            """
            UPDATE tenants SET role_password = coalesce(role_password, $2::bytea) WHERE id = $1::uuid
            RETURNING role_password
            """,
            [tenant, sealedPassword]
        )
        return try CatalogSQL.single(rows).decode([UInt8].self, "role_password")
    }

    /// The region of that slug; `.notFound` when there is none.
    public static func region(_ slug: String, _ connection: PostgresConnection) throws -> Region {
        try RegionStore.decode(CatalogSQL.single(connection.query("SELECT \(RegionStore.columns) FROM regions WHERE slug = $1", [slug])))
    }

    /// Moves a dedicated stack to the Odoo version its tenant now runs.
    public static func setStackOdooVersion(_ stack: UUID, to version: String, _ connection: PostgresConnection) throws {
        _ = try connection.execute(
            """
            UPDATE stacks SET odoo_version = $2, version = version + 1, updated_at = now()
            WHERE id = $1::uuid AND kind = 'dedicated' AND odoo_version <> $2
            """,
            [stack, version]
        )
    }

    /// Notes that the tenant's role and database are complete.
    public static func markDatabaseReady(_ tenant: UUID, _ connection: PostgresConnection) throws {
        _ = try connection.execute(
            "UPDATE tenants SET database_ready_at = coalesce(database_ready_at, now()) WHERE id = $1::uuid", [tenant]
        )
    }

    /// Moves the tenant to `status` when its current status allows it, clears its error and, when
    /// given, records `job` as its last job; audited as `tenant.update`. Answers the tenant as it
    /// is afterwards (unchanged when the move is not allowed, e.g. a tenant deleted meanwhile).
    @discardableResult
    public static func settle(
        _ tenant: UUID, status: Tenant.Status, job: UUID? = nil, audit: AuditContext, _ connection: PostgresConnection
    ) throws -> Tenant {
        let before = try decode(CatalogSQL.single(connection.query("\(selection) WHERE t.id = $1::uuid FOR UPDATE OF t", [tenant])))
        guard before.status.allows(status), before.status != status || before.error != nil || (job != nil && job != before.lastJob)
        else { return before }
        _ = try connection.execute(
            """
            UPDATE tenants SET status = $2, error = NULL, last_job = coalesce($3::uuid, last_job), version = version + 1,
                updated_at = now()
            WHERE id = $1::uuid
            """,
            [tenant, status.rawValue, job]
        )
        let after = try fetch(id: tenant, connection)
        if before.status != after.status {
            try AuditStore.append(
                auditRecord(audit, "update", after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
                on: connection
            )
        }
        return after
    }

    /// Ends a `deleting` tenant whose database is gone: `deleted`, its hostnames freed, its place
    /// on the stack released, `purged_at` set. Does nothing to a tenant already deleted.
    @discardableResult
    public static func finishPurge(_ tenant: UUID, job: UUID?, audit: AuditContext, _ connection: PostgresConnection) throws -> Tenant {
        let before = try decode(CatalogSQL.single(connection.query("\(selection) WHERE t.id = $1::uuid FOR UPDATE OF t", [tenant])))
        guard before.status != .deleted else { return before }
        _ = try connection.execute("UPDATE tenants SET purged_at = coalesce(purged_at, now()) WHERE id = $1::uuid", [tenant])
        return try finishDeletion(before, job: job, audit: audit, connection)
    }
}
