public import Foundation

/// One Odoo instance of one brand, in one environment and region, on a shared or dedicated stack.
public struct Tenant: Sendable, Equatable {
    public enum Environment: String, Sendable, CaseIterable {
        case production
        case staging
        case development
        case test
    }

    public enum Placement: String, Sendable, CaseIterable {
        case shared
        case dedicated
    }

    /// `pending` → `provisioning` → `active`; `suspended`; `deleting` → `deleted`; `failed`.
    public enum Status: String, Sendable, CaseIterable {
        case pending
        case provisioning
        case active
        case suspended
        case failed
        case deleting
        case deleted

        /// Whether a tenant in this status may be moved to `next`. Staying put is allowed (a job
        /// run again records the same status); nothing leaves `deleted`.
        public func allows(_ next: Status) -> Bool {
            if self == next { return self != .deleted }
            switch (self, next) {
            case (.pending, .provisioning), (.pending, .failed), (.pending, .deleting):
                return true
            case (.provisioning, .active), (.provisioning, .failed), (.provisioning, .deleting):
                return true
            case (.active, .provisioning), (.active, .suspended), (.active, .failed), (.active, .deleting):
                return true
            case (.suspended, .active), (.suspended, .failed), (.suspended, .deleting):
                return true
            case (.failed, .provisioning), (.failed, .active), (.failed, .deleting):
                return true
            case (.deleting, .deleted), (.deleting, .failed):
                return true
            default:
                return false
            }
        }
    }

    public var id: UUID
    /// The organization's slug.
    public var organization: String
    public var slug: String
    /// The brand's slug.
    public var brand: String
    public var environment: Environment
    /// The region's slug.
    public var region: String
    public var placement: Placement
    /// `s`, `m`, `l` or `xl` (see ``TenantSize``).
    public var size: String
    public var odooVersion: String
    /// Custom domains, sorted.
    public var customDomains: [String]
    /// The default hostname `{tenant}.{org}.{region base domain}` followed by the custom domains.
    public var hostnames: [String]
    public var status: Status
    /// What the caller asked for: the tenant's routes and connections are off (a `tenant.suspend`
    /// job ends `suspended`; a `tenant.resume` job ends `active`).
    public var suspended: Bool
    /// The error of the job that left the tenant `failed`; `nil` otherwise.
    public var error: String?
    /// The stack's id; `nil` until placed.
    public var stack: UUID?
    /// The generated database (and role) name, `t_<id>`.
    public var database: String
    public var lastJob: UUID?
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date
    /// When it was marked deleted; `nil` for a live tenant.
    public var deletedAt: Date?

    public init(
        id: UUID, organization: String, slug: String, brand: String, environment: Environment, region: String,
        placement: Placement, size: String, odooVersion: String, customDomains: [String], hostnames: [String],
        status: Status, stack: UUID?, database: String, lastJob: UUID?, version: Int64, createdAt: Date,
        updatedAt: Date, deletedAt: Date?, suspended: Bool = false, error: String? = nil
    ) {
        self.id = id
        self.organization = organization
        self.slug = slug
        self.brand = brand
        self.environment = environment
        self.region = region
        self.placement = placement
        self.size = size
        self.odooVersion = odooVersion
        self.customDomains = customDomains
        self.hostnames = hostnames
        self.status = status
        self.suspended = suspended
        self.error = error
        self.stack = stack
        self.database = database
        self.lastJob = lastJob
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
    }

    /// The Odoo versions a tenant can run.
    public static let odooVersions = ["16.0", "17.0", "18.0"]
}
