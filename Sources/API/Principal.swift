/// Who is calling, and what they may do, from a verified token.
///
/// Two kinds of token reach the API: those of the identity provider carry
/// `roles` (narrowed by an optional `scope`), and partner tokens minted by
/// Provisioner carry only scopes. Both may be confined to an organization
/// (`org`) and to named tenants (`tenants`).
public struct Principal: Sendable, Equatable {
    public var issuer: String
    public var subject: String
    public var roles: Set<Role>
    /// The organization the token is confined to; `nil` for provider staff.
    public var organization: String?
    /// Tenant slugs the token is confined to, when it names any.
    public var tenants: [String]?
    /// What the token may do: its roles' permissions narrowed by its scope, or a partner token's scopes.
    public var permissions: Set<Permission>
    /// A partner token: scopes only, no roles (a fifth of the request rate).
    public var isPartner: Bool
    /// The `jti` of a partner token minted by Provisioner (set with ``partner(issuer:subject:organization:scopes:tenants:)``);
    /// `nil` for every other token.
    public var partnerTokenID: String? = nil

    /// A principal of the identity provider: what its `roles` grant, narrowed by
    /// `scope` when the token has one. Roles never count outside their placement:
    /// staff roles need a token without `org`, organization roles one with it.
    public init(
        issuer: String, subject: String, roles: Set<Role>, organization: String?, scope: String?, tenants: [String]?
    ) {
        self.issuer = issuer
        self.subject = subject
        self.roles = roles
        self.organization = organization
        self.tenants = tenants
        self.isPartner = false
        var granted = Set<Permission>()
        for role in roles where role.counts(onTokenWithOrganization: organization != nil) {
            granted.formUnion(role.permissions)
        }
        if let scope { granted.formIntersection(Self.permissions(inScope: scope)) }
        self.permissions = granted
    }

    /// A partner token: its scopes are all it may do, and only inside its organization.
    /// Without an organization it may do nothing (partner tokens are always confined to one).
    public static func partner(
        issuer: String, subject: String, organization: String?, scopes: [String], tenants: [String]?
    ) -> Principal {
        var principal = Principal(
            issuer: issuer, subject: subject, roles: [], organization: organization, scope: nil, tenants: tenants
        )
        principal.isPartner = true
        principal.permissions = organization == nil ? [] : Set(scopes.compactMap(Permission.init(rawValue:)))
        return principal
    }

    /// The known permissions named in a space-separated `scope`; unknown names are ignored.
    static func permissions(inScope scope: String) -> Set<Permission> {
        Set(scope.split(separator: " ").compactMap { Permission(rawValue: String($0)) })
    }

    /// Provider staff: not confined to an organization.
    public var isStaff: Bool { organization == nil }

    /// The key idempotency records and rate-limit buckets are scoped to.
    public var idempotencyScope: String { "\(issuer)\u{1F}\(subject)" }

    /// Throws 403 unless the principal holds `permission`.
    public func require(_ permission: Permission) throws {
        guard permissions.contains(permission) else {
            throw ProblemError.forbidden("this action needs the '\(permission.rawValue)' permission")
        }
    }

    /// Throws 403 unless the principal is provider staff holding `permission`.
    public func requireStaff(_ permission: Permission) throws {
        try require(permission)
        guard isStaff else { throw ProblemError.forbidden("this action is reserved to provider staff") }
    }

    /// Throws 404 when the principal is confined to another organization, so
    /// that other customers' slugs cannot be probed.
    public func requireAccess(toOrganization slug: String) throws {
        if let organization, organization != slug { throw ProblemError.notFound }
    }

    /// Whether the token's tenant confinement, if any, includes `slug`.
    public func canAccess(tenant slug: String) -> Bool {
        tenants?.contains(slug) ?? true
    }

    /// Throws 404 when the token is confined to tenants that do not include
    /// `slug` (as for another organization: the tenant's existence is not revealed).
    public func requireAccess(toTenant slug: String) throws {
        guard canAccess(tenant: slug) else { throw ProblemError.notFound }
    }
}
