/// Who is calling, and what they may do, from a verified token.
public struct Principal: Sendable, Equatable {
    public var issuer: String
    public var subject: String
    public var roles: Set<Role>
    /// The organization the token is confined to; `nil` for provider staff.
    public var organization: String?
    /// Tenant slugs the token is confined to, when it names any.
    public var tenants: [String]?
    /// What the roles grant, narrowed by the token's `scope`.
    public var permissions: Set<Permission>
    /// The `jti` of a partner token minted by Provisioner; `nil` for every other token.
    public var partnerTokenID: String? = nil

    public init(issuer: String, subject: String, roles: Set<Role>, organization: String?, scope: String?, tenants: [String]?) {
        self.issuer = issuer
        self.subject = subject
        self.roles = roles
        self.organization = organization
        self.tenants = tenants
        var granted = Set<Permission>()
        for role in roles {
            switch role.scope {
            case .provider where organization == nil, .organization where organization != nil, .either:
                granted.formUnion(role.permissions)
            default:
                continue
            }
        }
        if let scope {
            let requested = Set(scope.split(separator: " ").compactMap { Permission(rawValue: String($0)) })
            granted.formIntersection(requested)
        }
        self.permissions = granted
    }

    /// Provider staff: not confined to an organization.
    public var isStaff: Bool { organization == nil }

    /// The key idempotency records are scoped to.
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
}
