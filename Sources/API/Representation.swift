import Catalog
import JWT

/// The wire form of catalog resources (snake_case, RFC 3339 timestamps).
extension Region {
    var json: JSONValue {
        .object([
            "slug": .string(slug),
            "name": .string(name),
            "base_domain": .string(baseDomain),
            "gitops_path": .string(gitopsPath),
            "shared_stack_capacity": .number(Double(sharedStackCapacity)),
            "shared_postgres_configured": .bool(sharedPostgresConfigured),
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}

extension Plan {
    var json: JSONValue {
        .object([
            "slug": .string(slug),
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
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}

extension Organization {
    var json: JSONValue {
        .object([
            "slug": .string(slug),
            "name": .string(name),
            "plan": .string(plan),
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}

extension Brand {
    var json: JSONValue {
        .object([
            "slug": .string(slug),
            "name": .string(name),
            "organization": .string(organization),
            "default_region": defaultRegion.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}
