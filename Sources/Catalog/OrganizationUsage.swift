/// One numeric quota of a plan and how much of it an organization uses.
public struct QuotaUsage: Sendable, Equatable {
    /// The plan field: `max_tenants`, `max_production_tenants`, `max_dedicated_stacks`,
    /// `max_cpu_millicores`, `max_memory_mib`, `max_storage_gib`.
    public var quota: String
    public var limit: Int
    public var used: Int

    public init(quota: String, limit: Int, used: Int) {
        self.quota = quota
        self.limit = limit
        self.used = used
    }
}

/// An organization's plan limits and current use: every tenant not yet `deleted` counts.
public struct OrganizationUsage: Sendable, Equatable {
    public var organization: String
    public var plan: String
    /// In the order of ``TenantQuota/numeric``.
    public var quotas: [QuotaUsage]
    public var allowedPlacements: [String]
    public var allowedSizes: [String]
    /// Empty: every region.
    public var allowedRegions: [String]

    public init(
        organization: String, plan: String, quotas: [QuotaUsage], allowedPlacements: [String], allowedSizes: [String],
        allowedRegions: [String]
    ) {
        self.organization = organization
        self.plan = plan
        self.quotas = quotas
        self.allowedPlacements = allowedPlacements
        self.allowedSizes = allowedSizes
        self.allowedRegions = allowedRegions
    }

    /// The usage of one quota by name.
    public subscript(quota: String) -> QuotaUsage? {
        quotas.first { $0.quota == quota }
    }
}
