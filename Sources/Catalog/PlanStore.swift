import Foundation
import JWT
public import Postgres

/// Catalog access for plans.
public struct PlanStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns = """
        slug, name, max_tenants, max_production_tenants, max_dedicated_stacks, max_cpu_millicores,
        max_memory_mib, max_storage_gib, array_to_json(allowed_placements)::text AS allowed_placements,
        array_to_json(allowed_sizes)::text AS allowed_sizes, array_to_json(allowed_regions)::text AS allowed_regions,
        backup_retention_days, version, created_at, updated_at
        """

    public func create(_ plan: Plan, audit: AuditContext) async throws -> Plan {
        try await pool.transaction { connection in
            try Self.checkRegionsExist(plan.allowedRegions, connection)
            let created = try CatalogSQL.mappingConstraints {
                let rows = try connection.query(
                    """
                    INSERT INTO plans (slug, name, max_tenants, max_production_tenants, max_dedicated_stacks,
                        max_cpu_millicores, max_memory_mib, max_storage_gib, allowed_placements, allowed_sizes,
                        allowed_regions, backup_retention_days)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10::text[], $11::text[], $12)
                    RETURNING \(Self.columns)
                    """,
                    Self.parameters(plan)
                )
                return try Self.decode(CatalogSQL.single(rows))
            }
            try AuditStore.append(
                Self.auditRecord(audit, "create", created.slug, AuditSummary.changes(from: nil, to: created.auditFields)),
                on: connection
            )
            return created
        }
    }

    public func get(_ slug: String) async throws -> Plan {
        let rows = try await pool.query("SELECT \(Self.columns) FROM plans WHERE slug = $1", [slug])
        return try Self.decode(CatalogSQL.single(rows))
    }

    public func list(_ page: PageRequest) async throws -> Page<Plan> {
        let rows = try await pool.query(
            "SELECT \(Self.columns) FROM plans WHERE $1::text IS NULL OR slug > $1 ORDER BY slug LIMIT $2",
            [page.after, page.limit + 1]
        )
        return Page.from(try rows.map(Self.decode), limit: page.limit, slug: \.slug)
    }

    public func update(
        _ slug: String, condition: VersionCondition, audit: AuditContext,
        change: @escaping @Sendable (inout Plan) throws -> Void
    ) async throws -> Plan {
        try await pool.transaction { connection in
            let rows = try connection.query("SELECT \(Self.columns) FROM plans WHERE slug = $1 FOR UPDATE", [slug])
            let before = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
            var plan = before
            try change(&plan)
            let violations = plan.ruleViolations()
            guard violations.isEmpty else { throw CatalogError.invalid(violations) }
            try Self.checkRegionsExist(plan.allowedRegions, connection)
            let updated = try connection.query(
                """
                UPDATE plans SET name = $2, max_tenants = $3, max_production_tenants = $4, max_dedicated_stacks = $5,
                    max_cpu_millicores = $6, max_memory_mib = $7, max_storage_gib = $8,
                    allowed_placements = $9::text[], allowed_sizes = $10::text[], allowed_regions = $11::text[],
                    backup_retention_days = $12, version = version + 1, updated_at = now()
                WHERE slug = $1
                RETURNING \(Self.columns)
                """,
                Self.parameters(plan)
            )
            let after = try Self.decode(CatalogSQL.single(updated))
            try AuditStore.append(
                Self.auditRecord(audit, "update", slug, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
                on: connection
            )
            return after
        }
    }

    /// Allowed regions must name existing regions; the check runs under a share
    /// lock so a region cannot be deleted between check and write.
    static func checkRegionsExist(_ slugs: [String], _ connection: PostgresConnection) throws {
        guard !slugs.isEmpty else { return }
        let rows = try connection.query(
            "SELECT slug FROM regions WHERE slug = ANY ($1::text[]) FOR SHARE", [CatalogSQL.textArray(slugs)]
        )
        let found = Set(try rows.map { try $0.decode(String.self, "slug") })
        let missing = slugs.filter { !found.contains($0) }
        guard missing.isEmpty else {
            throw CatalogError.invalid(
                missing.map { FieldError(field: "allowed_regions", message: "unknown region '\($0)'") }
            )
        }
    }

    /// Plans belong to the provider: their events have no organization.
    static func auditRecord(_ context: AuditContext, _ verb: String, _ slug: String, _ summary: JSONValue) -> AuditRecord {
        AuditRecord(
            context: context, organization: nil, action: "plan.\(verb)", targetType: "plan", targetID: slug,
            summary: summary
        )
    }

    static func parameters(_ plan: Plan) -> [(any PostgresBindable)?] {
        [
            plan.slug, plan.name, plan.maxTenants, plan.maxProductionTenants, plan.maxDedicatedStacks,
            plan.maxCPUMillicores, plan.maxMemoryMiB, plan.maxStorageGiB, CatalogSQL.textArray(plan.allowedPlacements),
            CatalogSQL.textArray(plan.allowedSizes), CatalogSQL.textArray(plan.allowedRegions),
            plan.backupRetentionDays,
        ]
    }

    static func decode(_ row: PostgresRow) throws -> Plan {
        Plan(
            slug: try row.decode(String.self, "slug"),
            name: try row.decode(String.self, "name"),
            maxTenants: try row.decode(Int.self, "max_tenants"),
            maxProductionTenants: try row.decode(Int.self, "max_production_tenants"),
            maxDedicatedStacks: try row.decode(Int.self, "max_dedicated_stacks"),
            maxCPUMillicores: try row.decode(Int.self, "max_cpu_millicores"),
            maxMemoryMiB: try row.decode(Int.self, "max_memory_mib"),
            maxStorageGiB: try row.decode(Int.self, "max_storage_gib"),
            allowedPlacements: try row.decodeTextArray("allowed_placements"),
            allowedSizes: try row.decodeTextArray("allowed_sizes"),
            allowedRegions: try row.decodeTextArray("allowed_regions"),
            backupRetentionDays: try row.decode(Int.self, "backup_retention_days"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at")
        )
    }
}
