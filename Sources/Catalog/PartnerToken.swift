public import Foundation

/// A partner token as the catalog records it: never the token itself, only
/// what it grants. Its `id` is also the token's `jti`.
public struct PartnerToken: Sendable, Equatable {
    public var id: UUID
    public var organization: String
    public var name: String
    /// Scope strings (`brands:read`, ...), in the order they were requested.
    public var scopes: [String]
    /// Tenant slugs the token is confined to; `nil` for every tenant of the organization.
    public var tenants: [String]?
    /// The `kid` of the key that signed it.
    public var keyID: String
    /// The `sub` of whoever minted it.
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(
        id: UUID, organization: String, name: String, scopes: [String], tenants: [String]?, keyID: String,
        createdBy: String, createdAt: Date = Date(), expiresAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil
    ) {
        self.id = id
        self.organization = organization
        self.name = name
        self.scopes = scopes
        self.tenants = tenants
        self.keyID = keyID
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

/// Whether a partner token may still be used, read on every request that presents it.
public struct PartnerTokenStatus: Sendable, Equatable {
    public var revoked: Bool
    public var lastUsedAt: Date?

    public init(revoked: Bool, lastUsedAt: Date?) {
        self.revoked = revoked
        self.lastUsedAt = lastUsedAt
    }
}
