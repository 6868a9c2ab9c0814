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
        var fields = auditFields
        fields["slug"] = .string(slug)
        fields["created_at"] = .string(Timestamp.format(createdAt))
        fields["updated_at"] = .string(Timestamp.format(updatedAt))
        return .object(fields)
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
