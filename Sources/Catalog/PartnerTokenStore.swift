public import Foundation
import JWT
public import Postgres

/// Catalog access for partner tokens, always inside one organization (except
/// the per-request status read, which goes by id).
public struct PartnerTokenStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// How often `last_used_at` is written for one token, at most.
    public static let lastUseResolution: Duration = .seconds(60)

    static let selection = """
        SELECT t.id, o.slug AS organization, t.name, array_to_json(t.scopes)::text AS scopes,
            array_to_json(t.tenants)::text AS tenants, k.kid, t.created_by, t.created_at, t.expires_at,
            t.last_used_at, t.revoked_at
        FROM partner_tokens t
        JOIN organizations o ON o.id = t.organization_id
        JOIN signing_keys k ON k.id = t.signing_key_id
        """

    /// Records a minted token, and its `token.create` audit event in the same
    /// transaction; `.notFound` when the organization does not exist.
    public func create(_ token: PartnerToken, audit: AuditContext) async throws -> PartnerToken {
        try await pool.transaction { connection in
            let organizationID = try BrandStore.organizationID(token.organization, connection)
            let keyRows = try connection.query("SELECT id::text AS id FROM signing_keys WHERE kid = $1", [token.keyID])
            let keyID = try CatalogSQL.single(keyRows).decode(String.self, "id")
            _ = try connection.execute(
                """
                INSERT INTO partner_tokens (id, organization_id, name, scopes, tenants, signing_key_id, created_by,
                    created_at, expires_at)
                VALUES ($1::uuid, $2::uuid, $3, $4::text[], $5::text[], $6::uuid, $7, $8, $9)
                """,
                [
                    token.id, organizationID, token.name, CatalogSQL.textArray(token.scopes),
                    token.tenants.map(CatalogSQL.textArray), keyID, token.createdBy, token.createdAt,
                    token.expiresAt,
                ]
            )
            let created = try Self.fetch(token.id, connection)
            try AuditStore.append(
                Self.auditRecord(audit, "create", created, AuditSummary.changes(from: nil, to: created.auditFields)),
                on: connection
            )
            return created
        }
    }

    /// A token of the organization by id, revoked or not.
    public func get(organization: String, id: UUID) async throws -> PartnerToken {
        let rows = try await pool.query("\(Self.selection) WHERE o.slug = $1 AND t.id = $2", [organization, id])
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// The organization's tokens that are not revoked, by id; `.notFound` when
    /// the organization does not exist.
    public func list(organization: String, after: UUID?, limit: Int) async throws -> Page<PartnerToken> {
        try await pool.transaction { connection in
            _ = try BrandStore.organizationID(organization, connection, lock: false)
            let rows = try connection.query(
                """
                \(Self.selection)
                WHERE o.slug = $1 AND t.revoked_at IS NULL AND ($2::uuid IS NULL OR t.id > $2::uuid)
                ORDER BY t.id LIMIT $3
                """,
                [organization, after, limit + 1]
            )
            return Page.from(try rows.map(Self.decode), limit: limit) { $0.id.uuidString.lowercased() }
        }
    }

    /// Revokes a token of the organization, and records its `token.delete`
    /// audit event in the same transaction; `.notFound` when there is no such
    /// token or it is already revoked (so a revocation is recorded once).
    public func revoke(organization: String, id: UUID, audit: AuditContext) async throws {
        try await pool.transaction { connection in
            let rows = try connection.query(
                """
                UPDATE partner_tokens SET revoked_at = now()
                WHERE id = $2 AND revoked_at IS NULL
                  AND organization_id = (SELECT id FROM organizations WHERE slug = $1)
                RETURNING id
                """,
                [organization, id]
            )
            _ = try CatalogSQL.single(rows)
            let revoked = try Self.fetch(id, connection)
            try AuditStore.append(
                Self.auditRecord(audit, "delete", revoked, AuditSummary.changes(from: revoked.auditFields, to: nil)),
                on: connection
            )
        }
    }

    /// A token's events belong to its organization; the target is the token's
    /// id (its `jti`), never the token.
    static func auditRecord(
        _ context: AuditContext, _ verb: String, _ token: PartnerToken, _ summary: JSONValue
    ) -> AuditRecord {
        AuditRecord(
            context: context, organization: token.organization, action: "token.\(verb)", targetType: "token",
            targetID: token.id.uuidString.lowercased(), summary: summary
        )
    }

    static func fetch(_ id: UUID, _ connection: PostgresConnection) throws -> PartnerToken {
        try decode(CatalogSQL.single(connection.query("\(selection) WHERE t.id = $1", [id])))
    }

    /// Whether the token may be used; `nil` when the catalog does not know it
    /// (never minted, or its organization was deleted).
    public func status(id: UUID) async throws -> PartnerTokenStatus? {
        let rows = try await pool.query(
            "SELECT revoked_at IS NOT NULL AS revoked, last_used_at FROM partner_tokens WHERE id = $1", [id]
        )
        guard let row = rows.first else { return nil }
        return PartnerTokenStatus(
            revoked: try row.decode(Bool.self, "revoked"), lastUsedAt: try row.decodeIfPresent(Date.self, "last_used_at")
        )
    }

    /// Sets `last_used_at` to now unless another request did within `lastUseResolution`.
    public func recordUse(id: UUID) async throws {
        _ = try await pool.query(
            """
            UPDATE partner_tokens SET last_used_at = now()
            WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))
            """,
            [id, Int(Self.lastUseResolution.components.seconds)]
        )
    }

    static func decode(_ row: PostgresRow) throws -> PartnerToken {
        PartnerToken(
            id: try row.decode(UUID.self, "id"),
            organization: try row.decode(String.self, "organization"),
            name: try row.decode(String.self, "name"),
            scopes: try row.decodeTextArray("scopes"),
            tenants: try row.isNull("tenants") ? nil : row.decodeTextArray("tenants"),
            keyID: try row.decode(String.self, "kid"),
            createdBy: try row.decode(String.self, "created_by"),
            createdAt: try row.decode(Date.self, "created_at"),
            expiresAt: try row.decode(Date.self, "expires_at"),
            lastUsedAt: try row.decodeIfPresent(Date.self, "last_used_at"),
            revokedAt: try row.decodeIfPresent(Date.self, "revoked_at")
        )
    }
}
