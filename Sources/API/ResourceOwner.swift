/// The organization and tenant a resource belongs to, for routes whose path names neither
/// (`/v1/jobs/{job}`): read from the catalog before the permission check, so that a caller
/// outside the resource's organization or tenants gets 404 whatever its permissions.
struct ResourceOwner: Sendable, Equatable {
    /// `nil`: a provider resource (visible to provider staff only).
    var organization: String?
    var tenant: String?

    /// Reads the owner of the resource a request's path names; throws 404 when there is none.
    typealias Lookup = @Sendable (AppRequestContext) async throws -> ResourceOwner
}

extension Principal {
    /// Throws 404 unless the resource belongs to the principal's organization (any, for provider
    /// staff) and, for a token confined to tenants, to one of them.
    func requireAccess(to owner: ResourceOwner) throws {
        if let organization, owner.organization != organization { throw ProblemError.notFound }
        if tenants != nil {
            guard let tenant = owner.tenant, canAccess(tenant: tenant) else { throw ProblemError.notFound }
        }
    }
}
