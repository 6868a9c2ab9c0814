import Catalog
import Hummingbird
import JWT

/// `/v1/regions`: where stacks run.
struct RegionController {
    let store: RegionStore
    let sealer: any SecretSealer

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/regions", access: .permission(.regionsRead)) { request, _ in
            let page = try await store.list(Cursor.pageRequest(request))
            return .page(page.items.map(\.json), nextAfter: page.nextAfter)
        }
        routes.add(.post, "/v1/regions", access: .permission(.regionsWrite)) { request, context in
            var fields = FieldReader(try await JSONBody.object(request))
            let slug = fields.string("slug", required: true, valid: NamePattern.isSlug, rule: Self.slugRule)
            let name = fields.string("name", required: true, valid: NamePattern.isDisplayName, rule: Self.nameRule)
            let baseDomain = fields.string(
                "base_domain", required: true, valid: NamePattern.isDomainName, rule: Self.domainRule
            )
            let capacity = fields.integer("shared_stack_capacity", in: 1...1000)
            let gitopsPath = fields.string("gitops_path", valid: NamePattern.isRepositoryPath, rule: Self.pathRule)
            let url = fields.string("shared_postgres_url", valid: Self.isPostgresURL, rule: Self.urlRule)
            fields.refuseReadOnly(Self.readOnly)
            try fields.validate()
            guard let slug, let name, let baseDomain else { throw ProblemError.validation([]) }
            let region = Region(
                slug: slug, name: name, baseDomain: baseDomain, gitopsPath: gitopsPath ?? "clusters/\(slug)",
                sharedStackCapacity: capacity ?? 50, sharedPostgresURLSealed: try url.map { try sealer.seal(Array($0.utf8)) }
            )
            let created = try await store.create(region, audit: try context.auditContext())
            return .resource(created.json, version: created.version, status: .created, location: "/v1/regions/\(slug)")
        }
        routes.add(.get, "/v1/regions/{region}", access: .permission(.regionsRead)) { _, context in
            let region = try await store.get(try context.parameters.require("region"))
            return .resource(region.json, version: region.version)
        }
        routes.add(.patch, "/v1/regions/{region}", access: .permission(.regionsWrite)) { request, context in
            let slug = try context.parameters.require("region")
            let condition = EntityTag.condition(request)
            var fields = FieldReader(try await JSONBody.object(request, allowMergePatch: true))
            let name = fields.string("name", valid: NamePattern.isDisplayName, rule: Self.nameRule)
            let baseDomain = fields.string("base_domain", valid: NamePattern.isDomainName, rule: Self.domainRule)
            let capacity = fields.integer("shared_stack_capacity", in: 1...1000)
            let gitopsPath = fields.string("gitops_path", valid: NamePattern.isRepositoryPath, rule: Self.pathRule)
            let url = fields.nullableString("shared_postgres_url", valid: Self.isPostgresURL, rule: Self.urlRule)
            fields.refuseReadOnly(["slug"] + Self.readOnly)
            try fields.validate()
            let sealedURL: [UInt8]?? = try url.map { try $0.map { try sealer.seal(Array($0.utf8)) } }
            let region = try await store.update(slug, condition: condition, audit: try context.auditContext()) { region in
                if let name { region.name = name }
                if let baseDomain { region.baseDomain = baseDomain }
                if let capacity { region.sharedStackCapacity = capacity }
                if let gitopsPath { region.gitopsPath = gitopsPath }
                if let sealedURL { region.sharedPostgresURLSealed = sealedURL }
            }
            return .resource(region.json, version: region.version)
        }
        routes.add(.delete, "/v1/regions/{region}", access: .permission(.regionsWrite)) { request, context in
            try await store.delete(
                try context.parameters.require("region"), condition: EntityTag.condition(request),
                audit: try context.auditContext()
            )
            return .noContent()
        }
    }

    static let readOnly = ["shared_postgres_configured", "created_at", "updated_at"]
    static let slugRule = "must match ^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
    static let nameRule = "must be 1 to 200 characters without control characters"
    static let domainRule = "must be a lowercase DNS name of at least two labels"
    static let pathRule = "must be a relative path of [a-z0-9._/-] without empty or '..' segments"
    static let urlRule = "must be a postgres:// or postgresql:// URL of at most 2048 visible ASCII characters"

    static func isPostgresURL(_ text: String) -> Bool {
        // Visible ASCII only: anything else in a URL must be percent-encoded.
        guard text.utf8.count <= 2048, text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return false }
        return text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }
}
