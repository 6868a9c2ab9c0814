public import Foundation

/// A deployable unit in a region: a shared stack serves many tenants, a dedicated one exactly one
/// tenant of one organization.
public struct Stack: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case shared
        case dedicated
    }

    public var id: UUID
    public var name: String
    /// The region's slug.
    public var region: String
    public var kind: Kind
    public var odooVersion: String
    /// The owning organization's slug; `nil` for a shared stack.
    public var organization: String?
    /// The tenant's slug; `nil` for a shared stack.
    public var tenant: String?
    /// The number of the current artifact revision; 0 before the first.
    public var currentRevision: Int
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID = UUID(), name: String, region: String, kind: Kind, odooVersion: String, organization: String? = nil,
        tenant: String? = nil, currentRevision: Int = 0, version: Int64 = 1, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.region = region
        self.kind = kind
        self.odooVersion = odooVersion
        self.organization = organization
        self.tenant = tenant
        self.currentRevision = currentRevision
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
