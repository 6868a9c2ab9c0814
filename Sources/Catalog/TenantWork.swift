public import Foundation

/// What a worker reads to carry out one tenant job: the tenant, its stack and its region, with the
/// sealed secrets the job needs (never shown by the API).
public struct TenantWork: Sendable {
    public var tenant: Tenant
    public var stack: StackRecord
    public var region: Region
    /// The tenant role's password, sealed with the master key; `nil` until first provisioned.
    public var rolePasswordSealed: [UInt8]?
    /// Whether its database was last seen complete.
    public var databaseReady: Bool

    public init(
        tenant: Tenant, stack: StackRecord, region: Region, rolePasswordSealed: [UInt8]?, databaseReady: Bool
    ) {
        self.tenant = tenant
        self.stack = stack
        self.region = region
        self.rolePasswordSealed = rolePasswordSealed
        self.databaseReady = databaseReady
    }
}

/// A stack as provisioning sees it: what the API shows plus its database role.
public struct StackRecord: Sendable, Equatable {
    public var stack: Stack
    /// The role a shared stack's Odoo connects as (`s_<id>`); `nil` until its first tenant is
    /// provisioned, and for dedicated stacks.
    public var databaseRole: String?
    public var databasePasswordSealed: [UInt8]?

    public init(stack: Stack, databaseRole: String?, databasePasswordSealed: [UInt8]?) {
        self.stack = stack
        self.databaseRole = databaseRole
        self.databasePasswordSealed = databasePasswordSealed
    }
}

/// One tenant a stack's revision serves.
public struct StackMember: Sendable, Equatable {
    public var id: UUID
    public var slug: String
    /// The organization's slug.
    public var organization: String
    public var customDomains: [String]
    public var database: String
    /// Whether the revision routes the tenant's hostnames: a dedicated stack keeps serving its
    /// suspended or deleting tenant's workloads and database, without routes.
    public var routed: Bool

    public init(id: UUID, slug: String, organization: String, customDomains: [String], database: String, routed: Bool = true) {
        self.id = id
        self.slug = slug
        self.organization = organization
        self.customDomains = customDomains
        self.database = database
        self.routed = routed
    }
}
