/// What a route needs; the names are the scope strings of partner tokens.
public enum Permission: String, Sendable, CaseIterable, Hashable {
    case regionsRead = "regions:read"
    case regionsWrite = "regions:write"
    case plansRead = "plans:read"
    case plansWrite = "plans:write"
    case orgsRead = "orgs:read"
    case orgsWrite = "orgs:write"
    case brandsRead = "brands:read"
    case brandsWrite = "brands:write"
    case tenantsRead = "tenants:read"
    case tenantsWrite = "tenants:write"
    case tenantsActions = "tenants:actions"
    case stacksRead = "stacks:read"
    case jobsRead = "jobs:read"
    case jobsWrite = "jobs:write"
    case artifactsRead = "artifacts:read"
    case tokensWrite = "tokens:write"
    case auditRead = "audit:read"
}

/// The roles of the identity provider's `roles` claim.
public enum Role: String, Sendable, CaseIterable, Hashable {
    case platformAdmin = "platform-admin"
    case platformOperator = "platform-operator"
    case orgAdmin = "org-admin"
    case orgOperator = "org-operator"
    case orgViewer = "org-viewer"
    case auditor

    /// Staff roles count only on tokens without an `org` claim, organization roles
    /// only on tokens with one; `auditor` counts on both.
    func counts(onTokenWithOrganization hasOrganization: Bool) -> Bool {
        switch self {
        case .platformAdmin, .platformOperator: !hasOrganization
        case .orgAdmin, .orgOperator, .orgViewer: hasOrganization
        case .auditor: true
        }
    }

    /// The permissions a role grants: the one place that says who may do what.
    public var permissions: Set<Permission> {
        switch self {
        case .platformAdmin:
            Set(Permission.allCases)
        case .platformOperator:
            [
                .regionsRead, .regionsWrite, .orgsRead, .brandsRead, .tenantsRead, .tenantsWrite, .tenantsActions,
                .stacksRead, .jobsRead, .jobsWrite, .artifactsRead,
            ]
        case .orgAdmin:
            [
                .regionsRead, .plansRead, .orgsRead, .orgsWrite, .brandsRead, .brandsWrite, .tenantsRead,
                .tenantsWrite, .tenantsActions, .stacksRead, .jobsRead, .jobsWrite, .artifactsRead, .tokensWrite,
                .auditRead,
            ]
        case .orgOperator:
            [
                .regionsRead, .plansRead, .orgsRead, .brandsRead, .tenantsRead, .tenantsWrite, .tenantsActions,
                .stacksRead, .jobsRead, .jobsWrite, .artifactsRead,
            ]
        case .orgViewer:
            [.regionsRead, .plansRead, .orgsRead, .brandsRead, .tenantsRead, .stacksRead, .jobsRead, .artifactsRead]
        case .auditor:
            [.auditRead]
        }
    }
}
