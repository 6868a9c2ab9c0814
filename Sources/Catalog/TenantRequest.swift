public import Foundation

/// What a caller asks for when creating a tenant; the store validates it, checks the plan and
/// places the tenant.
public struct TenantRequest: Sendable, Equatable {
    /// The organization's slug.
    public var organization: String
    public var slug: String
    /// The brand's slug (of the same organization).
    public var brand: String
    public var environment: Tenant.Environment
    /// The region's slug; `nil` takes the brand's default region.
    public var region: String?
    public var placement: Tenant.Placement
    public var size: String
    public var odooVersion: String
    public var customDomains: [String]
    /// The provisioning job enqueued with the create, recorded as `last_job`.
    public var job: UUID?

    /// Most custom domains one tenant may carry.
    public static let maximumCustomDomains = 20

    public init(
        organization: String, slug: String, brand: String, environment: Tenant.Environment, region: String? = nil,
        placement: Tenant.Placement, size: String, odooVersion: String, customDomains: [String] = [], job: UUID? = nil
    ) {
        self.organization = organization
        self.slug = slug
        self.brand = brand
        self.environment = environment
        self.region = region
        self.placement = placement
        self.size = size
        self.odooVersion = odooVersion
        self.customDomains = customDomains
        self.job = job
    }

    /// Rules of the request on its own (before the catalog is read).
    public func fieldErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if !NamePattern.isSlug(slug) {
            errors.append(FieldError(field: "slug", message: "must match ^[a-z][a-z0-9-]{1,38}[a-z0-9]$"))
        }
        errors += TenantChange(size: size, customDomains: customDomains, odooVersion: odooVersion).fieldErrors()
        return errors
    }
}
