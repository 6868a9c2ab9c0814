/// Errors the catalog reports in domain terms; the API turns them into problem+json.
public enum CatalogError: Error, Sendable, Equatable {
    /// The resource does not exist (or is outside the caller's reach).
    case notFound
    /// A resource with the same identifying field already exists.
    case alreadyExists(field: String)
    /// The resource still has dependents (tenants, stacks, brands using it).
    case hasDependents(String)
    /// `If-Match` named a version that is no longer current.
    case preconditionFailed
    /// A well-formed request that breaks a rule: field-level messages.
    case invalid([FieldError])
    /// The change would take the organization past a numeric quota of its plan (`max_tenants`,
    /// `max_cpu_millicores`, ...): the quota's name, its limit and the current use.
    case quotaExceeded(quota: String, limit: Int, used: Int)
    /// The plan does not allow the requested value: the quota (`allowed_placements`,
    /// `allowed_sizes`, `allowed_regions`), what it allows, and what was requested.
    case notAllowedByPlan(quota: String, allowed: [String], requested: String)
    /// A hostname is already used by a tenant (of any organization).
    case domainTaken(String)
    /// The resource's current state refuses the operation (a change of a tenant being deleted, a
    /// suspend of a tenant that is not active): a stable snake_case code and a sentence.
    case conflict(code: String, detail: String)
}

/// One field-level problem of a request that breaks a rule.
public struct FieldError: Sendable, Equatable, Hashable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
