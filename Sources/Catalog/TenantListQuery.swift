/// Filters and page of an organization's tenant list, ordered by slug (then id).
public struct TenantListQuery: Sendable, Equatable {
    /// The organization's slug.
    public var organization: String
    /// Only these tenants (slugs): a token confined to named tenants.
    public var tenants: [String]?
    public var brand: String?
    public var environment: Tenant.Environment?
    public var region: String?
    public var status: Tenant.Status?
    /// Whether deleted tenants are listed too (kept for audit).
    public var includeDeleted: Bool
    /// The `nextAfter` of the previous page.
    public var after: String?
    public var limit: Int

    public init(
        organization: String, tenants: [String]? = nil, brand: String? = nil, environment: Tenant.Environment? = nil,
        region: String? = nil, status: Tenant.Status? = nil, includeDeleted: Bool = false, after: String? = nil,
        limit: Int = 50
    ) {
        self.organization = organization
        self.tenants = tenants
        self.brand = brand
        self.environment = environment
        self.region = region
        self.status = status
        self.includeDeleted = includeDeleted
        self.after = after
        self.limit = limit
    }
}
