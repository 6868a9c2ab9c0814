import Foundation
public import JWT

// The fields of each resource an audit summary compares, by wire name.

extension Region {
    /// The shared PostgreSQL URL is a secret: only whether it is set shows.
    var auditFields: [String: JSONValue] {
        [
            "name": .string(name),
            "base_domain": .string(baseDomain),
            "gitops_path": .string(gitopsPath),
            "shared_stack_capacity": .number(Double(sharedStackCapacity)),
            "shared_postgres_url": sharedPostgresURLSealed == nil ? .null : AuditSummary.redacted,
        ]
    }
}

extension Plan {
    /// Every field a caller sets, by wire name: what an audit summary compares, and the body of
    /// the API's representation (which adds the slug and the timestamps).
    public var auditFields: [String: JSONValue] {
        [
            "name": .string(name),
            "max_tenants": .number(Double(maxTenants)),
            "max_production_tenants": .number(Double(maxProductionTenants)),
            "max_dedicated_stacks": .number(Double(maxDedicatedStacks)),
            "max_cpu_millicores": .number(Double(maxCPUMillicores)),
            "max_memory_mib": .number(Double(maxMemoryMiB)),
            "max_storage_gib": .number(Double(maxStorageGiB)),
            "allowed_placements": .array(allowedPlacements.map(JSONValue.string)),
            "allowed_sizes": .array(allowedSizes.map(JSONValue.string)),
            "allowed_regions": .array(allowedRegions.map(JSONValue.string)),
            "backup_retention_days": .number(Double(backupRetentionDays)),
        ]
    }
}

extension Organization {
    var auditFields: [String: JSONValue] {
        ["name": .string(name), "plan": .string(plan)]
    }
}

extension Brand {
    var auditFields: [String: JSONValue] {
        ["name": .string(name), "default_region": defaultRegion.map(JSONValue.string) ?? .null]
    }
}

extension PartnerToken {
    /// What the token grants and until when; never the token (it is not
    /// stored) nor anything of the key that signed it.
    var auditFields: [String: JSONValue] {
        [
            "name": .string(name),
            "scopes": .array(scopes.map(JSONValue.string)),
            "tenants": tenants.map { .array($0.map(JSONValue.string)) } ?? .null,
            "expires_at": .string(expiresAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
        ]
    }
}

extension Tenant {
    /// What a caller set and what the catalog assigned; the database name is not a secret.
    var auditFields: [String: JSONValue] {
        [
            "id": .string(id.uuidString.lowercased()),
            "brand": .string(brand),
            "environment": .string(environment.rawValue),
            "region": .string(region),
            "placement": .string(placement.rawValue),
            "size": .string(size),
            "odoo_version": .string(odooVersion),
            "custom_domains": .array(customDomains.map(JSONValue.string)),
            "hostnames": .array(hostnames.map(JSONValue.string)),
            "status": .string(status.rawValue),
            "suspended": .bool(suspended),
            "stack": stack.map { .string($0.uuidString.lowercased()) } ?? .null,
            "database": .string(database),
            "last_job": lastJob.map { .string($0.uuidString.lowercased()) } ?? .null,
        ]
    }
}

extension Stack {
    var auditFields: [String: JSONValue] {
        [
            "name": .string(name),
            "region": .string(region),
            "kind": .string(kind.rawValue),
            "odoo_version": .string(odooVersion),
            "organization": organization.map(JSONValue.string) ?? .null,
            "tenant": tenant.map(JSONValue.string) ?? .null,
        ]
    }
}
