import Foundation
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

    public func create(_ region: Region) async throws -> Region {
        try await pool.transaction { connection in
            try CatalogSQL.mappingConstraints {
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
        _ slug: String, condition: VersionCondition, change: @escaping @Sendable (inout Region) throws -> Void
    ) async throws -> Region {
        try await pool.transaction { connection in
            let rows = try connection.query(
                "SELECT \(Self.columns) FROM regions WHERE slug = $1 FOR UPDATE", [slug]
            )
            var region = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(region.version) else { throw CatalogError.preconditionFailed }
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
            return try Self.decode(CatalogSQL.single(updated))
        }
    }

    public func delete(_ slug: String, condition: VersionCondition) async throws {
        try await pool.transaction { connection in
            let rows = try connection.query("SELECT version FROM regions WHERE slug = $1 FOR UPDATE", [slug])
            let version = try CatalogSQL.single(rows).decode(Int64.self, "version")
            guard condition.admits(version) else { throw CatalogError.preconditionFailed }
            let plans = try connection.query(
                "SELECT 1 AS found FROM plans WHERE $1 = ANY (allowed_regions) LIMIT 1", [slug]
            )
            guard plans.isEmpty else { throw CatalogError.hasDependents("plans allow this region") }
            try CatalogSQL.mappingConstraints {
                _ = try connection.execute("DELETE FROM regions WHERE slug = $1", [slug])
            }
        }
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
