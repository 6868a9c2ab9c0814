/// Filters and page of an organization's job list, newest first.
public struct JobListQuery: Sendable, Equatable {
    /// The organization the jobs belong to (slug).
    public var organization: String
    public var state: JobState?
    public var kind: String?
    public var tenant: String?
    /// Confines the list to jobs of these tenants (a token confined to named tenants); `nil` is no
    /// confinement.
    public var confinedToTenants: [String]?
    /// Continue after (older than) this position.
    public var after: JobListPosition?
    public var limit: Int

    public init(
        organization: String, state: JobState? = nil, kind: String? = nil, tenant: String? = nil,
        confinedToTenants: [String]? = nil, after: JobListPosition? = nil, limit: Int = 50
    ) {
        self.organization = organization
        self.state = state
        self.kind = kind
        self.tenant = tenant
        self.confinedToTenants = confinedToTenants
        self.after = after
        self.limit = limit
    }
}
