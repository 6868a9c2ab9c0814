/// What a caller may change of a tenant (a JSON merge patch): `nil` leaves a field as it is.
public struct TenantChange: Sendable, Equatable {
    public var size: String?
    /// The whole new set of custom domains (`[]` removes them all).
    public var customDomains: [String]?
    /// Only upward, and only for a dedicated tenant.
    public var odooVersion: String?

    public init(size: String? = nil, customDomains: [String]? = nil, odooVersion: String? = nil) {
        self.size = size
        self.customDomains = customDomains
        self.odooVersion = odooVersion
    }

    /// Rules of the change on its own (before the catalog is read), as for a create: a create's
    /// size, Odoo version and custom domains are checked by these same rules.
    public func fieldErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if let size, TenantSize.named(size) == nil {
            errors.append(FieldError(field: "size", message: "must be one of \(TenantSize.all.map(\.name).joined(separator: ", "))"))
        }
        if let odooVersion, !Tenant.odooVersions.contains(odooVersion) {
            errors.append(FieldError(field: "odoo_version", message: "must be one of \(Tenant.odooVersions.joined(separator: ", "))"))
        }
        if let customDomains {
            if customDomains.count > TenantRequest.maximumCustomDomains {
                errors.append(FieldError(field: "custom_domains", message: "at most \(TenantRequest.maximumCustomDomains) domains"))
            }
            for domain in customDomains where !NamePattern.isDomainName(domain) {
                errors.append(FieldError(field: "custom_domains", message: "'\(domain)' is not a lowercase DNS name"))
            }
            if Set(customDomains).count != customDomains.count {
                errors.append(FieldError(field: "custom_domains", message: "a domain appears more than once"))
            }
        }
        return errors
    }
}
