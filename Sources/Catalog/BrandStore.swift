import Foundation
import JWT
public import Postgres

/// Catalog access for brands, always inside one organization.
public struct BrandStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let selection = """
        SELECT o.slug AS organization, b.slug, b.name, r.slug AS default_region, b.version, b.created_at, b.updated_at
        FROM brands b
        JOIN organizations o ON o.id = b.organization_id
        LEFT JOIN regions r ON r.id = b.default_region_id
        """

    public func create(_ brand: Brand, audit: AuditContext) async throws -> Brand {
        try await pool.transaction { connection in
            let organizationID = try Self.organizationID(brand.organization, connection)
            let regionID = try Self.regionID(brand.defaultRegion, connection)
            let created = try CatalogSQL.mappingConstraints {
                _ = try connection.execute(
                    """
                    INSERT INTO brands (organization_id, slug, name, default_region_id)
                    VALUES ($1::uuid, $2, $3, $4::uuid)
                    """,
                    [organizationID, brand.slug, brand.name, regionID]
                )
                return try Self.fetch(brand.organization, brand.slug, connection)
            }
            try AuditStore.append(
                Self.auditRecord(audit, "create", created, AuditSummary.changes(from: nil, to: created.auditFields)),
                on: connection
            )
            return created
        }
    }

    public func get(organization: String, slug: String) async throws -> Brand {
        let rows = try await pool.query("\(Self.selection) WHERE o.slug = $1 AND b.slug = $2", [organization, slug])
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// Lists an organization's brands; `.notFound` when the organization does not exist.
    public func list(organization: String, _ page: PageRequest) async throws -> Page<Brand> {
        try await pool.transaction { connection in
            _ = try Self.organizationID(organization, connection, lock: false)
            let rows = try connection.query(
                """
                \(Self.selection)
                WHERE o.slug = $1 AND ($2::text IS NULL OR b.slug > $2)
                ORDER BY b.slug LIMIT $3
                """,
                [organization, page.after, page.limit + 1]
            )
            return Page.from(try rows.map(Self.decode), limit: page.limit, slug: \.slug)
        }
    }

    public func update(
        organization: String, slug: String, condition: VersionCondition, audit: AuditContext,
        change: @escaping @Sendable (inout Brand) throws -> Void
    ) async throws -> Brand {
        try await pool.transaction { connection in
            let rows = try connection.query(
                "\(Self.selection) WHERE o.slug = $1 AND b.slug = $2 FOR UPDATE OF b", [organization, slug]
            )
            let before = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
            var brand = before
            try change(&brand)
            let regionID = try Self.regionID(brand.defaultRegion, connection)
            _ = try connection.execute(
                """
                UPDATE brands SET name = $3, default_region_id = $4::uuid, version = version + 1, updated_at = now()
                WHERE organization_id = (SELECT id FROM organizations WHERE slug = $1) AND slug = $2
                """,
                [organization, slug, brand.name, regionID]
            )
            let after = try Self.fetch(organization, slug, connection)
            try AuditStore.append(
                Self.auditRecord(audit, "update", after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
                on: connection
            )
            return after
        }
    }

    public func delete(
        organization: String, slug: String, condition: VersionCondition, audit: AuditContext
    ) async throws {
        try await pool.transaction { connection in
            let rows = try connection.query(
                "\(Self.selection) WHERE o.slug = $1 AND b.slug = $2 FOR UPDATE OF b", [organization, slug]
            )
            let brand = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(brand.version) else { throw CatalogError.preconditionFailed }
            try AuditStore.append(
                Self.auditRecord(audit, "delete", brand, AuditSummary.changes(from: brand.auditFields, to: nil)),
                on: connection
            )
            try CatalogSQL.mappingConstraints {
                _ = try connection.execute(
                    """
                    DELETE FROM brands
                    WHERE organization_id = (SELECT id FROM organizations WHERE slug = $1) AND slug = $2
                    """,
                    [organization, slug]
                )
            }
        }
    }

    /// A brand's events belong to its organization.
    static func auditRecord(_ context: AuditContext, _ verb: String, _ brand: Brand, _ summary: JSONValue) -> AuditRecord {
        AuditRecord(
            context: context, organization: brand.organization, action: "brand.\(verb)", targetType: "brand",
            targetID: brand.slug, summary: summary
        )
    }

    static func fetch(_ organization: String, _ slug: String, _ connection: PostgresConnection) throws -> Brand {
        let rows = try connection.query("\(selection) WHERE o.slug = $1 AND b.slug = $2", [organization, slug])
        return try decode(CatalogSQL.single(rows))
    }

    /// The organization's id (share-locked so it is not deleted under a new brand); `.notFound` if unknown.
    static func organizationID(_ slug: String, _ connection: PostgresConnection, lock: Bool = true) throws -> String {
        let sql = "SELECT id::text AS id FROM organizations WHERE slug = $1" + (lock ? " FOR SHARE" : "")
        return try CatalogSQL.single(connection.query(sql, [slug])).decode(String.self, "id")
    }

    /// The id of a default region (share-locked); an unknown region is a field error.
    static func regionID(_ slug: String?, _ connection: PostgresConnection) throws -> String? {
        guard let slug else { return nil }
        let rows = try connection.query("SELECT id::text AS id FROM regions WHERE slug = $1 FOR SHARE", [slug])
        guard let row = rows.first else {
            throw CatalogError.invalid([FieldError(field: "default_region", message: "unknown region '\(slug)'")])
        }
        return try row.decode(String.self, "id")
    }

    static func decode(_ row: PostgresRow) throws -> Brand {
        Brand(
            organization: try row.decode(String.self, "organization"),
            slug: try row.decode(String.self, "slug"),
            name: try row.decode(String.self, "name"),
            defaultRegion: try row.decodeIfPresent(String.self, "default_region"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at")
        )
    }
}
