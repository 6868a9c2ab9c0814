public import Foundation
public import Postgres

/// Catalog access for stacks (created by provisioning; read by the API).
public struct StackStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let selection = """
        SELECT s.id, s.name, r.slug AS region, s.kind, s.odoo_version, o.slug AS organization, s.tenant,
            s.current_revision, s.version, s.created_at, s.updated_at
        FROM stacks s
        JOIN regions r ON r.id = s.region_id
        LEFT JOIN organizations o ON o.id = s.organization_id
        """

    /// Records a stack; an unknown region or organization is a field error, a name already used in
    /// the region is `.alreadyExists(field: "name")`.
    public func create(_ stack: Stack) async throws -> Stack {
        try await pool.transaction { connection in
            let region = try connection.query("SELECT id::text AS id FROM regions WHERE slug = $1 FOR SHARE", [stack.region])
            guard let regionID = try region.first?.decode(String.self, "id") else {
                throw CatalogError.invalid([FieldError(field: "region", message: "unknown region '\(stack.region)'")])
            }
            var organizationID: String?
            if let organization = stack.organization {
                let rows = try connection.query("SELECT id::text AS id FROM organizations WHERE slug = $1 FOR SHARE", [organization])
                guard let id = try rows.first?.decode(String.self, "id") else {
                    throw CatalogError.invalid([FieldError(field: "organization", message: "unknown organization '\(organization)'")])
                }
                organizationID = id
            }
            do {
                _ = try connection.execute(
                    """
                    INSERT INTO stacks (id, name, region_id, kind, odoo_version, organization_id, tenant)
                    VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6::uuid, $7)
                    """,
                    [stack.id, stack.name, regionID, stack.kind.rawValue, stack.odooVersion, organizationID, stack.tenant]
                )
            } catch let error as DatabaseError where error.sqlState == .uniqueViolation {
                throw CatalogError.alreadyExists(field: "name")
            } catch let error as DatabaseError where error.sqlState == .checkViolation {
                throw CatalogError.invalid([FieldError(field: "stack", message: "breaks the rule \(error.constraint ?? "of stacks")")])
            }
            return try Self.fetch(stack.id, connection)
        }
    }

    public func get(_ id: UUID) async throws -> Stack {
        try Self.decode(CatalogSQL.single(try await pool.query("\(Self.selection) WHERE s.id = $1::uuid", [id])))
    }

    /// A page of stacks ordered by id, confined as the query says.
    public func list(_ query: StackListQuery) async throws -> Page<Stack> {
        let rows = try await pool.query(
            """
            \(Self.selection)
            WHERE ($1::text IS NULL OR (s.kind = 'dedicated' AND o.slug = $1))
              AND ($2::text[] IS NULL OR s.tenant = ANY($2::text[]))
              AND ($3::uuid IS NULL OR s.id > $3::uuid)
            ORDER BY s.id LIMIT $4
            """,
            [query.organization, query.tenants.map(CatalogSQL.textArray), query.after, query.limit + 1]
        )
        return Page.from(try rows.map(Self.decode), limit: query.limit) { $0.id.uuidString.lowercased() }
    }

    static func fetch(_ id: UUID, _ connection: PostgresConnection) throws -> Stack {
        try decode(CatalogSQL.single(connection.query("\(selection) WHERE s.id = $1::uuid", [id])))
    }

    static func decode(_ row: PostgresRow) throws -> Stack {
        let kind = try row.decode(String.self, "kind")
        return Stack(
            id: try row.decode(UUID.self, "id"),
            name: try row.decode(String.self, "name"),
            region: try row.decode(String.self, "region"),
            kind: Stack.Kind(rawValue: kind) ?? .shared,
            odooVersion: try row.decode(String.self, "odoo_version"),
            organization: try row.decodeIfPresent(String.self, "organization"),
            tenant: try row.decodeIfPresent(String.self, "tenant"),
            currentRevision: try row.decode(Int.self, "current_revision"),
            version: try row.decode(Int64.self, "version"),
            createdAt: try row.decode(Date.self, "created_at"),
            updatedAt: try row.decode(Date.self, "updated_at")
        )
    }
}
