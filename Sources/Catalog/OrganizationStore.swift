import Foundation
import JWT
public import Postgres

/// Catalog access for organizations.
public struct OrganizationStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let selection = """
        SELECT o.slug, o.name, p.slug AS plan, o.version, o.created_at, o.updated_at
        FROM organizations o JOIN plans p ON p.id = o.plan_id
        """

    public func create(_ organization: Organization, audit: AuditContext) async throws -> Organization {
        try await pool.transaction { connection in
            let planID = try Self.planID(organization.plan, connection)
            let created = try CatalogSQL.mappingConstraints {
                _ = try connection.execute(
                    "INSERT INTO organizations (slug, name, plan_id) VALUES ($1, $2, $3::uuid)",
                    [organization.slug, organization.name, planID]
                )
                let rows = try connection.query("\(Self.selection) WHERE o.slug = $1", [organization.slug])
                return try Self.decode(CatalogSQL.single(rows))
            }
            try AuditStore.append(
                Self.auditRecord(audit, "create", created.slug, AuditSummary.changes(from: nil, to: created.auditFields)),
                on: connection
            )
            return created
        }
    }

    public func get(_ slug: String) async throws -> Organization {
        let rows = try await pool.query("\(Self.selection) WHERE o.slug = $1", [slug])
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// Lists organizations; `only` confines the list to one slug (an organization's own token).
    public func list(_ page: PageRequest, only: String? = nil) async throws -> Page<Organization> {
        let rows = try await pool.query(
            """
            \(Self.selection)
            WHERE ($1::text IS NULL OR o.slug > $1) AND ($2::text IS NULL OR o.slug = $2)
            ORDER BY o.slug LIMIT $3
            """,
            [page.after, only, page.limit + 1]
        )
        return Page.from(try rows.map(Self.decode), limit: page.limit, slug: \.slug)
    }

    public func update(
        _ slug: String, condition: VersionCondition, audit: AuditContext,
        change: @escaping @Sendable (inout Organization) throws -> Void
    ) async throws -> Organization {
        try await pool.transaction { connection in
            let rows = try connection.query(
                "\(Self.selection) WHERE o.slug = $1 FOR UPDATE OF o", [slug]
            )
            let before = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
            var organization = before
            try change(&organization)
            let planID = try Self.planID(organization.plan, connection)
            _ = try connection.execute(
                """
                UPDATE organizations SET name = $2, plan_id = $3::uuid, version = version + 1, updated_at = now()
                WHERE slug = $1
                """,
                [slug, organization.name, planID]
            )
            let updated = try connection.query("\(Self.selection) WHERE o.slug = $1", [slug])
            let after = try Self.decode(CatalogSQL.single(updated))
            try AuditStore.append(
                Self.auditRecord(audit, "update", slug, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
                on: connection
            )
            return after
        }
    }

    /// Deletes the organization and its brands; refused while tenants or stacks depend on it.
    public func delete(_ slug: String, condition: VersionCondition, audit: AuditContext) async throws {
        try await pool.transaction { connection in
            let rows = try connection.query("\(Self.selection) WHERE o.slug = $1 FOR UPDATE OF o", [slug])
            let organization = try Self.decode(CatalogSQL.single(rows))
            guard condition.admits(organization.version) else { throw CatalogError.preconditionFailed }
            // Recorded before the delete, while the organization's id still resolves;
            // a refused delete rolls it back with the rest.
            try AuditStore.append(
                Self.auditRecord(audit, "delete", slug, AuditSummary.changes(from: organization.auditFields, to: nil)),
                on: connection
            )
            try CatalogSQL.mappingConstraints {
                _ = try connection.execute("DELETE FROM organizations WHERE slug = $1", [slug])
            }
        }
    }

    /// An organization's events belong to the organization itself.
    static func auditRecord(_ context: AuditContext, _ verb: String, _ slug: String, _ summary: JSONValue) -> AuditRecord {
        AuditRecord(
            context: context, organization: slug, action: "organization.\(verb)", targetType: "organization",
            targetID: slug, summary: summary
        )
    }

    /// The id of a plan named by an organization, locked against deletion; an unknown plan is a field error.
    static func planID(_ slug: String, _ connection: PostgresConnection) throws -> String {
        let rows = try connection.query("SELECT id::text AS id FROM plans WHERE slug = $1 FOR SHARE", [slug])
        guard let row = rows.first else {
            throw CatalogError.invalid([FieldError(field: "plan", message: "unknown plan '\(slug)'")])
        }
        return try row.decode(String.self, "id")
    }

    static func decode(_ row: PostgresRow) throws -> Organization {
        Organization(
            slug: try row.decode(String.self, "slug"),
            name: try row.decode(String.self, "name"),
            plan: try row.decode(String.self, "plan"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at")
        )
    }
}
