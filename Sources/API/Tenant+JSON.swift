import Catalog
import Foundation
import JWT

extension Tenant {
    /// The wire form of a tenant. Its database role's password is never shown.
    var json: JSONValue {
        .object([
            "slug": .string(slug),
            "organization": .string(organization),
            "brand": .string(brand),
            "environment": .string(environment.rawValue),
            "region": .string(region),
            "placement": .string(placement.rawValue),
            "size": .string(size),
            "odoo_version": .string(odooVersion),
            "custom_domains": .array(customDomains.map(JSONValue.string)),
            "status": .string(status.rawValue),
            "suspended": .bool(suspended),
            "hostnames": .array(hostnames.map(JSONValue.string)),
            "stack": stack.map { .string($0.uuidString.lowercased()) } ?? .null,
            "database": .string(database),
            "last_job": lastJob.map { .string($0.uuidString.lowercased()) } ?? .null,
            "error": error.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}

extension OrganizationUsage {
    /// The wire form of `GET /v1/organizations/{org}/usage`.
    var json: JSONValue {
        .object([
            "organization": .string(organization),
            "plan": .string(plan),
            "quotas": .array(
                quotas.map { usage in
                    .object([
                        "quota": .string(usage.quota), "limit": .number(Double(usage.limit)),
                        "used": .number(Double(usage.used)),
                    ])
                }
            ),
            "allowed_placements": .array(allowedPlacements.map(JSONValue.string)),
            "allowed_sizes": .array(allowedSizes.map(JSONValue.string)),
            "allowed_regions": .array(allowedRegions.map(JSONValue.string)),
        ])
    }
}
