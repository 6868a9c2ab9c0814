import Foundation
import JWT
public import Postgres

/// Catalog access for regions.
public struct RegionStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns = """
        slug, name, base_domain, gitops_path, shared_stack_capacity, shared_postgres_url_sealed,
        version, created_at, updated_at
        """

    public func create(_ region: Region, audit: AuditContext) async throws -> Region {
        try await pool.transaction { connection in
            let created = try CatalogSQL.mappingConstraints {
                let rows = try connection.query(
                    """
                    INSERT INTO regions (slug, name, base_domain, gitops_path, shared_stack_capacity,
                        shared_postgres_url_sealed)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    RETURNING \(Self.columns)
                    """,
                    [
                        region.slug, region.name, region.baseDomain, region.gitopsPath, region.sharedStackCapacity,
                        region.sharedPostgresURLSealed,
                    ]
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

    public func get(_ slug: String) async throws -> Region {
        let rows = try await pool.query("SELECT \(Self.columns) FROM regions WHERE slug = $1", [slug])
        return try Self.decode(CatalogSQL.single(rows))
    }

    public func list(_ page: PageRequest) async throws -> Page<Region> {
        let rows = try await pool.query(
            "SELECT \(Self.columns) FROM regions WHERE $1::text IS NULL OR slug > $1 ORDER BY slug LIMIT $2",
            [page.after, page.limit + 1]
        )
        return Page.from(try rows.map(Self.decode), limit: page.limit, slug: \.slug)
    }

    /// Reads the region under a row lock, lets `change` edit it, and writes it back with a new version.
    public func update(
        _ slug: String, condition: VersionCondition, audit: AuditContext,
        change: @escaping @Sendable (inout Region) throws -> Void
    ) async throws -> Region {
        try await pool.transaction { connection in
            let rows = try connection.query(
                "SELECT \(Self.columns) FROM regions WHERE slug = $1 FOR UPDATE", [slug]
            )
            let before = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
            var region = before
            try change(&region)
            let updated = try connection.query(
                """
                UPDATE regions SET name = $2, base_domain = $3, gitops_path = $4, shared_stack_capacity = $5,
                    shared_postgres_url_sealed = $6, version = version + 1, updated_at = now()
                WHERE slug = $1
                RETURNING \(Self.columns)
                """,
                [
                    slug, region.name, region.baseDomain, region.gitopsPath, region.sharedStackCapacity,
                    region.sharedPostgresURLSealed,
                ]
            )
            let after = try Self.decode(CatalogSQL.single(updated))
            let secretChanged = before.sharedPostgresURLSealed != after.sharedPostgresURLSealed
            let summary = AuditSummary.changes(
                from: before.auditFields, to: after.auditFields,
                alsoChanged: secretChanged ? ["shared_postgres_url"] : []
            )
            try AuditStore.append(Self.auditRecord(audit, "update", slug, summary), on: connection)
            return after
        }
    }

    public func delete(_ slug: String, condition: VersionCondition, audit: AuditContext) async throws {
        try await pool.transaction { connection in
            let rows = try connection.query("SELECT \(Self.columns) FROM regions WHERE slug = $1 FOR UPDATE", [slug])
            let region = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(region.version) else { throw CatalogError.preconditionFailed }
            let plans = try connection.query(
                "SELECT 1 AS found FROM plans WHERE $1 = ANY (allowed_regions) LIMIT 1", [slug]
            )
            guard plans.isEmpty else { throw CatalogError.hasDependents("plans allow this region") }
            // Recorded before the delete: a delete refused by a reference rolls it back with the rest.
            try AuditStore.append(
                Self.auditRecord(audit, "delete", slug, AuditSummary.changes(from: region.auditFields, to: nil)),
                on: connection
            )
            try CatalogSQL.mappingConstraints {
                _ = try connection.execute("DELETE FROM regions WHERE slug = $1", [slug])
            }
        }
    }

    /// Regions belong to the provider: their events have no organization.
    static func auditRecord(_ context: AuditContext, _ verb: String, _ slug: String, _ summary: JSONValue) -> AuditRecord {
        AuditRecord(
            context: context, organization: nil, action: "region.\(verb)", targetType: "region", targetID: slug,
            summary: summary
        )
    }

    static func decode(_ row: PostgresRow) throws -> Region {
        Region(
            slug: try row.decode(String.self, "slug"),
            name: try row.decode(String.self, "name"),
            baseDomain: try row.decode(String.self, "base_domain"),
            gitopsPath: try row.decode(String.self, "gitops_path"),
            sharedStackCapacity: try row.decode(Int.self, "shared_stack_capacity"),
            sharedPostgresURLSealed: try row.decodeIfPresent([UInt8].self, "shared_postgres_url_sealed"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at")
        )
    }
}
