public import Foundation
import JWT
public import Postgres

/// Catalog access for Provisioner's own signing keys (partner tokens).
public struct SigningKeyStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns = "kid, algorithm, public_jwk, private_key_sealed, created_at, retired_at"

    /// The key that signs new tokens, if there is one.
    public func active() async throws -> SigningKeyRecord? {
        let rows = try await pool.query("SELECT \(Self.columns) FROM signing_keys WHERE retired_at IS NULL")
        return try rows.first.map(Self.decode)
    }

    /// A key by its `kid`, active or retired.
    public func key(id keyID: String) async throws -> SigningKeyRecord {
        let rows = try await pool.query("SELECT \(Self.columns) FROM signing_keys WHERE kid = $1", [keyID])
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// Stores `record` as the active key unless one exists already (another
    /// process may have won the race); returns the active key either way.
    public func activate(ifNoneIsActive record: SigningKeyRecord) async throws -> SigningKeyRecord {
        try await pool.transaction { connection in
            _ = try connection.execute(
                """
                INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_sealed)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT DO NOTHING
                """,
                [record.keyID, record.algorithm, record.publicJWK, record.privateKeySealed]
            )
            let rows = try connection.query("SELECT \(Self.columns) FROM signing_keys WHERE retired_at IS NULL")
            return try Self.decode(CatalogSQL.single(rows))
        }
    }

    /// Retires the active key (if any) and makes `record` the active key, and
    /// records a `signing-key.rotate` audit event (a provider event: no
    /// organization; only `kid`s, which are published anyway, never key
    /// material), all in one transaction; returns the `kid` of the retired key.
    public func rotate(to record: SigningKeyRecord, audit: AuditContext) async throws -> String? {
        try await pool.transaction { connection in
            let retiredRows = try connection.query(
                "UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL RETURNING kid"
            )
            _ = try connection.execute(
                """
                INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_sealed)
                VALUES ($1, $2, $3, $4)
                """,
                [record.keyID, record.algorithm, record.publicJWK, record.privateKeySealed]
            )
            let retired = try retiredRows.first?.decode(String.self, "kid")
            try AuditStore.append(
                AuditRecord(
                    context: audit, organization: nil, action: "signing-key.rotate", targetType: "signing-key",
                    targetID: record.keyID,
                    summary: AuditSummary.changes(
                        from: ["active_key": retired.map(JSONValue.string) ?? .null],
                        to: ["active_key": .string(record.keyID)]
                    )
                ),
                on: connection
            )
            return retired
        }
    }

    /// The public JWKs (JSON text) to publish at `now`: the active key, and every
    /// retired key that signed a token that is neither revoked nor expired
    /// (allowing `leeway` past `exp`, as verification does).
    public func published(at now: Date, leeway: Duration = .seconds(60)) async throws -> [String] {
        let rows = try await pool.query(
            """
            SELECT k.public_jwk FROM signing_keys k
            WHERE k.retired_at IS NULL
               OR EXISTS (
                   SELECT 1 FROM partner_tokens t
                   WHERE t.signing_key_id = k.id AND t.revoked_at IS NULL
                     AND t.expires_at > $1::timestamptz - make_interval(secs => $2)
               )
            ORDER BY k.created_at DESC, k.kid
            """,
            [now, Int(leeway.components.seconds)]
        )
        return try rows.map { try $0.decode(String.self, "public_jwk") }
    }

    static func decode(_ row: PostgresRow) throws -> SigningKeyRecord {
        SigningKeyRecord(
            keyID: try row.decode(String.self, "kid"),
            algorithm: try row.decode(String.self, "algorithm"),
            publicJWK: try row.decode(String.self, "public_jwk"),
            privateKeySealed: try row.decode([UInt8].self, "private_key_sealed"),
            createdAt: try row.decode(Date.self, "created_at"),
            retiredAt: try row.decodeIfPresent(Date.self, "retired_at")
        )
    }
}
