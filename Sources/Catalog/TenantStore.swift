public import Foundation
import JWT
public import Postgres

/// Catalog access for tenants: creation with quota checks and placement in one transaction,
/// reads, status changes and deletion.
///
/// Locking, always in this order, so that two transactions never wait on each other in a cycle:
/// 1. the organization row (`FOR NO KEY UPDATE`): creates of one organization run one at a time,
///    so the quota counts read after it stay true until the create commits (an organization
///    update, which may change the plan, takes `FOR UPDATE` and waits too);
/// 2. the plan and the region rows (`FOR SHARE`): their limits and capacity cannot change under
///    a create, while creates of other organizations share them;
/// 3. for a shared placement, the pool row of (region, Odoo version) in `shared_stack_pools`
///    (`FOR UPDATE`): placements into one pool run one at a time, each seeing every earlier
///    placement committed, so the least-loaded stack with room is chosen from true counts and
///    only one create grows the pool when every stack is full;
/// 4. the chosen stack row (`FOR UPDATE`, then `tenant_count + 1` guarded by the capacity).
public struct TenantStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let selection = """
        SELECT t.id, o.slug AS organization, t.slug, b.slug AS brand, t.environment, r.slug AS region, t.placement,
            t.size, t.odoo_version, t.status, t.stack_id, t.database, t.last_job, t.version, t.created_at,
            t.updated_at, t.deleted_at, t.suspended, t.error,
            (SELECT coalesce(array_to_json(array_agg(d.domain ORDER BY d.domain)), '[]'::json)::text
             FROM tenant_domains d WHERE d.tenant_id = t.id AND d.kind = 'custom') AS custom_domains,
            (SELECT coalesce(array_to_json(array_agg(d.domain ORDER BY d.kind = 'custom', d.domain)), '[]'::json)::text
             FROM tenant_domains d WHERE d.tenant_id = t.id) AS hostnames
        FROM tenants t
        JOIN organizations o ON o.id = t.organization_id
        JOIN brands b ON b.id = t.brand_id
        JOIN regions r ON r.id = t.region_id
        """

    // MARK: - Creating

    /// Creates a tenant in `pending` and places it, in one transaction: refused with
    /// `.quotaExceeded` / `.notAllowedByPlan` when the organization's plan does not admit it,
    /// `.domainTaken` when a hostname belongs to another tenant, `.alreadyExists(field: "slug")`
    /// when the organization has a live tenant of that slug, `.invalid` for unknown brands or
    /// regions, `.notFound` for an unknown organization.
    public func create(_ request: TenantRequest, audit: AuditContext) async throws -> (Tenant, TenantPlacement) {
        let errors = request.fieldErrors()
        guard errors.isEmpty else { throw CatalogError.invalid(errors) }
        return try await pool.transaction { connection in
            try Self.create(request, audit: audit, on: connection)
        }
    }

    /// ``create(_:audit:)`` inside the caller's transaction (so that the API can enqueue the
    /// provisioning job in the same one). The caller must have checked `request.fieldErrors()`.
    public static func create(
        _ request: TenantRequest, audit: AuditContext, on connection: PostgresConnection
    ) throws -> (Tenant, TenantPlacement) {
        guard let size = TenantSize.named(request.size) else {
            throw CatalogError.invalid([FieldError(field: "size", message: "unknown size '\(request.size)'")])
        }
        let organization = try CatalogSQL.single(
            connection.query(
                "SELECT id::text AS id, plan_id::text AS plan_id FROM organizations WHERE slug = $1 FOR NO KEY UPDATE",
                [request.organization]
            )
        )
        let organizationID = try organization.decode(String.self, "id")
        let plan = try PlanStore.decode(
            CatalogSQL.single(
                connection.query(
                    "SELECT \(PlanStore.columns) FROM plans WHERE id = $1::uuid FOR SHARE",
                    [try organization.decode(String.self, "plan_id")]
                )
            )
        )
        let brands = try connection.query(
            """
            SELECT b.id::text AS id, r.slug AS default_region
            FROM brands b LEFT JOIN regions r ON r.id = b.default_region_id
            WHERE b.organization_id = $1::uuid AND b.slug = $2
            """,
            [organizationID, request.brand]
        )
        guard let brand = brands.first else {
            throw CatalogError.invalid([FieldError(field: "brand", message: "unknown brand '\(request.brand)'")])
        }
        guard let regionSlug = try request.region ?? brand.decodeIfPresent(String.self, "default_region") else {
            throw CatalogError.invalid([FieldError(field: "region", message: "required: the brand has no default region")])
        }
        let regions = try connection.query(
            "SELECT id::text AS id, base_domain, shared_stack_capacity FROM regions WHERE slug = $1 FOR SHARE",
            [regionSlug]
        )
        guard let region = regions.first else {
            throw CatalogError.invalid([FieldError(field: "region", message: "unknown region '\(regionSlug)'")])
        }
        let regionID = try region.decode(String.self, "id")

        try TenantQuota.current(organizationID: organizationID, connection).admit(
            environment: request.environment, placement: request.placement, size: size, region: regionSlug, plan: plan
        )

        let taken = try connection.query(
            "SELECT 1 AS found FROM tenants WHERE organization_id = $1::uuid AND slug = $2 AND status <> 'deleted'",
            [organizationID, request.slug]
        )
        guard taken.isEmpty else { throw CatalogError.alreadyExists(field: "slug") }

        let defaultHostname = "\(request.slug).\(request.organization).\(try region.decode(String.self, "base_domain"))"
        guard NamePattern.isDomainName(defaultHostname) else {
            throw CatalogError.invalid([
                FieldError(field: "slug", message: "makes the hostname '\(defaultHostname)', which is not a valid DNS name")
            ])
        }
        try checkOutsideRegionDomains(request.customDomains, connection)

        let tenantID = UUID()
        let database = try reserveDatabaseName(for: tenantID, connection)
        try CatalogSQL.mappingConstraints {
            _ = try connection.execute(
                """
                INSERT INTO tenants (id, organization_id, brand_id, slug, environment, region_id, placement, size,
                    odoo_version, database, last_job)
                VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6::uuid, $7, $8, $9, $10, $11::uuid)
                """,
                [
                    tenantID, organizationID, try brand.decode(String.self, "id"), request.slug,
                    request.environment.rawValue, regionID, request.placement.rawValue, size.name,
                    request.odooVersion, database, request.job,
                ]
            )
        }
        let domains = [(defaultHostname, "default")] + request.customDomains.sorted().map { ($0, "custom") }
        for (domain, kind) in domains {
            // ON CONFLICT waits for a concurrent insert of the same domain and then skips if it committed.
            let inserted = try connection.query(
                """
                INSERT INTO tenant_domains (domain, tenant_id, kind) VALUES ($1, $2::uuid, $3)
                ON CONFLICT (domain) DO NOTHING RETURNING domain
                """,
                [domain, tenantID, kind]
            )
            guard !inserted.isEmpty else { throw CatalogError.domainTaken(domain) }
        }

        let placement = try place(
            TenantPlacementRequest(
                organizationID: organizationID, tenant: request.slug, regionID: regionID,
                regionCapacity: try region.decode(Int.self, "shared_stack_capacity"), placement: request.placement,
                odooVersion: request.odooVersion
            ),
            connection
        )
        _ = try connection.execute(
            "UPDATE tenants SET stack_id = $2::uuid WHERE id = $1::uuid", [tenantID, placement.stack.id]
        )

        let tenant = try fetch(id: tenantID, connection)
        if placement.createdStack {
            try AuditStore.append(stackAuditRecord(audit, placement.stack), on: connection)
        }
        try AuditStore.append(
            auditRecord(audit, "create", tenant, AuditSummary.changes(from: nil, to: tenant.auditFields)), on: connection
        )
        return (tenant, placement)
    }

    /// Records a new database name for the tenant; a name ever given out is never given again.
    static func reserveDatabaseName(for tenantID: UUID, _ connection: PostgresConnection) throws -> String {
        for _ in 0..<5 {
            let name = TenantDatabaseName.generate()
            let rows = try connection.query(
                """
                INSERT INTO tenant_database_names (name, tenant_id) VALUES ($1, $2::uuid)
                ON CONFLICT (name) DO NOTHING RETURNING name
                """,
                [name, tenantID]
            )
            if !rows.isEmpty { return name }
        }
        // 60 random bits colliding five times in a row: the generator is broken.
        throw CatalogError.alreadyExists(field: "database")
    }

    /// Custom domains may not lie under a region's base domain: those hostnames are the
    /// provider's (`{tenant}.{org}.{base domain}`).
    static func checkOutsideRegionDomains(_ domains: [String], _ connection: PostgresConnection) throws {
        guard !domains.isEmpty else { return }
        let rows = try connection.query(
            """
            SELECT d.domain FROM unnest($1::text[]) AS d (domain)
            WHERE EXISTS (
                SELECT 1 FROM regions r
                WHERE d.domain = r.base_domain OR right(d.domain, length(r.base_domain) + 1) = '.' || r.base_domain
            )
            ORDER BY d.domain
            """,
            [CatalogSQL.textArray(domains)]
        )
        guard rows.isEmpty else {
            throw CatalogError.invalid(
                try rows.map {
                    FieldError(
                        field: "custom_domains",
                        message: "'\(try $0.decode(String.self, "domain"))' lies under a region's base domain"
                    )
                }
            )
        }
    }

    // MARK: - Reading

    /// The live tenant of that slug.
    public func get(organization: String, slug: String) async throws -> Tenant {
        let rows = try await pool.query(
            "\(Self.selection) WHERE o.slug = $1 AND t.slug = $2 AND t.status <> 'deleted'", [organization, slug]
        )
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// Any tenant, deleted ones included.
    public func get(id: UUID) async throws -> Tenant {
        try Self.decode(CatalogSQL.single(try await pool.query("\(Self.selection) WHERE t.id = $1::uuid", [id])))
    }

    /// A page of an organization's tenants; `.notFound` when the organization does not exist.
    /// The cursor (`nextAfter`) is `<slug>/<id>`: deleted tenants may share a slug.
    public func list(_ query: TenantListQuery) async throws -> Page<Tenant> {
        var afterSlug: String?
        var afterID: String?
        if let after = query.after {
            let parts = after.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, UUID(uuidString: parts[1]) != nil else {
                throw CatalogError.invalid([FieldError(field: "cursor", message: "not a cursor of this list")])
            }
            afterSlug = parts[0]
            afterID = parts[1]
        }
        let (slug, id) = (afterSlug, afterID)
        return try await pool.transaction { connection in
            _ = try BrandStore.organizationID(query.organization, connection, lock: false)
            let rows = try connection.query(
                """
                \(Self.selection)
                WHERE o.slug = $1
                  AND ($2::text[] IS NULL OR t.slug = ANY($2::text[]))
                  AND ($3::text IS NULL OR b.slug = $3)
                  AND ($4::text IS NULL OR t.environment = $4)
                  AND ($5::text IS NULL OR r.slug = $5)
                  AND ($6::text IS NULL OR t.status = $6)
                  AND ($7::boolean OR t.status <> 'deleted')
                  AND ($8::text IS NULL OR (t.slug, t.id) > ($8::text, $9::uuid))
                ORDER BY t.slug, t.id
                LIMIT $10
                """,
                [
                    query.organization, query.tenants.map(CatalogSQL.textArray), query.brand,
                    query.environment?.rawValue, query.region, query.status?.rawValue, query.includeDeleted, slug, id,
                    query.limit + 1,
                ]
            )
            return Page.from(try rows.map(Self.decode), limit: query.limit) { "\($0.slug)/\($0.id.uuidString.lowercased())" }
        }
    }

    /// The organization's plan limits and what its live tenants use of them.
    public func usage(organization: String) async throws -> OrganizationUsage {
        try await pool.transaction(isolation: .repeatableRead) { connection in
            let organizationID = try BrandStore.organizationID(organization, connection, lock: false)
            let plan = try PlanStore.decode(
                CatalogSQL.single(
                    connection.query(
                        "SELECT \(PlanStore.columns) FROM plans WHERE id = (SELECT plan_id FROM organizations WHERE id = $1::uuid)",
                        [organizationID]
                    )
                )
            )
            let quota = try TenantQuota.current(organizationID: organizationID, connection)
            return OrganizationUsage(
                organization: organization, plan: plan.slug, quotas: quota.usage(of: plan),
                allowedPlacements: plan.allowedPlacements, allowedSizes: plan.allowedSizes,
                allowedRegions: plan.allowedRegions
            )
        }
    }

    // MARK: - Status

    /// Moves a live tenant to `status` (see ``Tenant/Status/allows(_:)``), recording `job` as its
    /// `last_job` when given. Moving to `deleted` is ``markDeleted(organization:slug:job:condition:audit:)``.
    public func setStatus(
        organization: String, slug: String, to status: Tenant.Status, job: UUID? = nil,
        condition: VersionCondition = .none, audit: AuditContext
    ) async throws -> Tenant {
        try await pool.transaction { connection in
            let before = try Self.lockLive(organization, slug, connection)
            guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
            guard before.status.allows(status) else {
                throw CatalogError.invalid([
                    FieldError(field: "status", message: "a \(before.status.rawValue) tenant cannot become \(status.rawValue)")
                ])
            }
            if status == .deleted {
                return try Self.finishDeletion(before, job: job, audit: audit, connection)
            }
            _ = try connection.execute(
                """
                UPDATE tenants SET status = $2, last_job = coalesce($3::uuid, last_job), version = version + 1,
                    updated_at = now()
                WHERE id = $1::uuid
                """,
                [before.id, status.rawValue, job]
            )
            let after = try Self.fetch(id: before.id, connection)
            try AuditStore.append(
                Self.auditRecord(audit, "update", after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
                on: connection
            )
            return after
        }
    }

    /// Ends a `deleting` tenant: it becomes `deleted` (kept for audit), its slug and hostnames are
    /// free for other tenants, its stack has room for one more, and its database name stays
    /// reserved forever.
    public func markDeleted(
        organization: String, slug: String, job: UUID? = nil, condition: VersionCondition = .none, audit: AuditContext
    ) async throws -> Tenant {
        try await setStatus(organization: organization, slug: slug, to: .deleted, job: job, condition: condition, audit: audit)
    }

    static func finishDeletion(
        _ before: Tenant, job: UUID?, audit: AuditContext, _ connection: PostgresConnection
    ) throws -> Tenant {
        _ = try connection.execute(
            """
            UPDATE tenants SET status = 'deleted', deleted_at = now(), last_job = coalesce($2::uuid, last_job),
                version = version + 1, updated_at = now()
            WHERE id = $1::uuid
            """,
            [before.id, job]
        )
        _ = try connection.execute("DELETE FROM tenant_domains WHERE tenant_id = $1::uuid", [before.id])
        if let stack = before.stack {
            _ = try connection.execute(
                "UPDATE stacks SET tenant_count = tenant_count - 1, updated_at = now() WHERE id = $1::uuid AND tenant_count > 0",
                [stack]
            )
        }
        let after = try fetch(id: before.id, connection)
        try AuditStore.append(
            auditRecord(audit, "delete", after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
            on: connection
        )
        return after
    }

    /// The live tenant of that slug, row-locked until the transaction ends.
    static func lockLive(_ organization: String, _ slug: String, _ connection: PostgresConnection) throws -> Tenant {
        let rows = try connection.query(
            "\(selection) WHERE o.slug = $1 AND t.slug = $2 AND t.status <> 'deleted' FOR UPDATE OF t",
            [organization, slug]
        )
        return try decode(CatalogSQL.single(rows))
    }

    static func fetch(id: UUID, _ connection: PostgresConnection) throws -> Tenant {
        try decode(CatalogSQL.single(connection.query("\(selection) WHERE t.id = $1::uuid", [id])))
    }

    // MARK: - Audit

    /// A tenant's events belong to its organization.
    static func auditRecord(_ context: AuditContext, _ verb: String, _ tenant: Tenant, _ summary: JSONValue) -> AuditRecord {
        AuditRecord(
            context: context, organization: tenant.organization, action: "tenant.\(verb)", targetType: "tenant",
            targetID: tenant.slug, summary: summary
        )
    }

    /// A stack created by placement: a dedicated one belongs to the tenant's organization, a
    /// shared one to the provider.
    static func stackAuditRecord(_ context: AuditContext, _ stack: Stack) -> AuditRecord {
        AuditRecord(
            context: context, organization: stack.kind == .dedicated ? stack.organization : nil, action: "stack.create",
            targetType: "stack", targetID: stack.id.uuidString.lowercased(),
            summary: AuditSummary.changes(from: nil, to: stack.auditFields)
        )
    }

    // MARK: - Decoding

    static func decode(_ row: PostgresRow) throws -> Tenant {
        let environment = try row.decode(String.self, "environment")
        let placement = try row.decode(String.self, "placement")
        let status = try row.decode(String.self, "status")
        return Tenant(
            id: try row.decode(UUID.self, "id"),
            organization: try row.decode(String.self, "organization"),
            slug: try row.decode(String.self, "slug"),
            brand: try row.decode(String.self, "brand"),
            environment: Tenant.Environment(rawValue: environment) ?? .development,
            region: try row.decode(String.self, "region"),
            placement: Tenant.Placement(rawValue: placement) ?? .shared,
            size: try row.decode(String.self, "size"),
            odooVersion: try row.decode(String.self, "odoo_version"),
            customDomains: try row.decodeTextArray("custom_domains"),
            hostnames: try row.decodeTextArray("hostnames"),
            status: Tenant.Status(rawValue: status) ?? .failed,
            stack: try row.decodeIfPresent(UUID.self, "stack_id"),
            database: try row.decode(String.self, "database"),
            lastJob: try row.decodeIfPresent(UUID.self, "last_job"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at"),
            deletedAt: try row.decodeIfPresent(Date.self, "deleted_at"),
            suspended: try row.decode(Bool.self, "suspended"),
            error: try row.decodeIfPresent(String.self, "error")
        )
    }
}
