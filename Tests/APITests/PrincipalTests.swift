import HTTPTypes
import Testing

@testable import API

/// Permissions and confinement computed from a token's claims.
@Suite(.timeLimit(.minutes(3))) struct PrincipalTests {
    static func idp(_ roles: Set<Role>, org: String? = nil, scope: String? = nil, tenants: [String]? = nil) -> Principal {
        Principal(issuer: "https://idp.test", subject: "user", roles: roles, organization: org, scope: scope, tenants: tenants)
    }

    @Test func scopeNarrowsRolesAndNeverWidensThem() {
        let narrowed = Self.idp([.orgAdmin], org: "org-a", scope: "brands:read plans:write no-such-scope")
        #expect(narrowed.permissions == [.brandsRead])
        let empty = Self.idp([.orgAdmin], org: "org-a", scope: "")
        #expect(empty.permissions.isEmpty)
        let whole = Self.idp([.orgViewer], org: "org-a")
        #expect(whole.permissions.contains(.tenantsRead) && !whole.permissions.contains(.tenantsWrite))
    }

    @Test func identityProviderTokensWithoutRolesGetNothingFromTheirScope() {
        let principal = Self.idp([], org: "org-a", scope: "tenants:read tenants:write")
        #expect(principal.permissions.isEmpty)
        #expect(!principal.isPartner)
    }

    @Test func partnerTokensHoldTheirScopesInsideTheirOrganization() throws {
        let partner = Principal.partner(
            issuer: "provisioner", subject: "token-1", organization: "org-a",
            scopes: ["tenants:read", "tenants:actions", "bogus"], tenants: ["shop-1"]
        )
        #expect(partner.isPartner)
        #expect(partner.roles.isEmpty)
        #expect(partner.permissions == [.tenantsRead, .tenantsActions])
        #expect(!partner.isStaff)
        try partner.require(.tenantsRead)
        #expect(throws: ProblemError.self) { try partner.require(.tenantsWrite) }
        #expect(Self.status { try partner.requireAccess(toOrganization: "org-b") } == 404)
        #expect(Self.status { try partner.requireStaff(.tenantsRead) } == 403)
    }

    @Test func partnerTokensWithoutAnOrganizationMayDoNothing() {
        let partner = Principal.partner(issuer: "provisioner", subject: "t", organization: nil, scopes: ["regions:read"], tenants: nil)
        #expect(partner.permissions.isEmpty)
    }

    @Test func rolesCountOnlyInTheirPlacement() {
        #expect(Self.idp([.platformAdmin], org: "org-a").permissions.isEmpty)
        #expect(Self.idp([.orgAdmin]).permissions.isEmpty)
        #expect(Self.idp([.auditor]).permissions == [.auditRead])
        #expect(Self.idp([.auditor], org: "org-a").permissions == [.auditRead])
    }

    @Test func tenantConfinementHidesOtherTenants() throws {
        let confined = Self.idp([.orgOperator], org: "org-a", tenants: ["shop-1", "shop-2"])
        #expect(confined.canAccess(tenant: "shop-1"))
        #expect(!confined.canAccess(tenant: "shop-3"))
        try confined.requireAccess(toTenant: "shop-2")
        #expect(Self.status { try confined.requireAccess(toTenant: "shop-3") } == 404)

        let unconfined = Self.idp([.orgOperator], org: "org-a")
        #expect(unconfined.canAccess(tenant: "anything"))

        let none = Self.idp([.orgOperator], org: "org-a", tenants: [])
        #expect(!none.canAccess(tenant: "shop-1"), "an empty list confines to no tenant")
    }

    static func status(_ body: () throws -> Void) -> Int? {
        do {
            try body()
            return nil
        } catch {
            return (error as? ProblemError)?.status.code
        }
    }
}
