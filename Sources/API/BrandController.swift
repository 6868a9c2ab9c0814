import Catalog
import Hummingbird
import JWT

/// `/v1/organizations/{org}/brands`: business units of an organization.
struct BrandController {
    let store: BrandStore

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/organizations/{org}/brands", access: .permission(.brandsRead)) { request, context in
            let page = try await store.list(
                organization: try context.parameters.require("org"), Cursor.pageRequest(request)
            )
            return .page(page.items.map(\.json), nextAfter: page.nextAfter)
        }
        routes.add(.post, "/v1/organizations/{org}/brands", access: .permission(.brandsWrite)) { request, context in
            let organization = try context.parameters.require("org")
            var fields = FieldReader(try await JSONBody.object(request))
            let slug = fields.string("slug", required: true, valid: NamePattern.isSlug, rule: RegionController.slugRule)
            let name = fields.string(
                "name", required: true, valid: NamePattern.isDisplayName, rule: RegionController.nameRule
            )
            let region = fields.nullableString("default_region", valid: NamePattern.isSlug, rule: "must be a region slug")
            fields.refuseReadOnly(Self.readOnly)
            try fields.validate()
            guard let slug, let name else { throw ProblemError.validation([]) }
            let created = try await store.create(
                Brand(organization: organization, slug: slug, name: name, defaultRegion: region ?? nil),
                audit: try context.auditContext()
            )
            return .resource(
                created.json, version: created.version, status: .created,
                location: "/v1/organizations/\(organization)/brands/\(slug)"
            )
        }
        routes.add(.get, "/v1/organizations/{org}/brands/{brand}", access: .permission(.brandsRead)) { _, context in
            let brand = try await store.get(
                organization: try context.parameters.require("org"), slug: try context.parameters.require("brand")
            )
            return .resource(brand.json, version: brand.version)
        }
        routes.add(.patch, "/v1/organizations/{org}/brands/{brand}", access: .permission(.brandsWrite)) {
            request, context in
            let condition = EntityTag.condition(request)
            var fields = FieldReader(try await JSONBody.object(request, allowMergePatch: true))
            let name = fields.string("name", valid: NamePattern.isDisplayName, rule: RegionController.nameRule)
            let region = fields.nullableString("default_region", valid: NamePattern.isSlug, rule: "must be a region slug")
            fields.refuseReadOnly(["slug"] + Self.readOnly)
            try fields.validate()
            let brand = try await store.update(
                organization: try context.parameters.require("org"), slug: try context.parameters.require("brand"),
                condition: condition, audit: try context.auditContext()
            ) { brand in
                if let name { brand.name = name }
                if let region { brand.defaultRegion = region }
            }
            return .resource(brand.json, version: brand.version)
        }
        routes.add(.delete, "/v1/organizations/{org}/brands/{brand}", access: .permission(.brandsWrite)) {
            request, context in
            try await store.delete(
                organization: try context.parameters.require("org"), slug: try context.parameters.require("brand"),
                condition: EntityTag.condition(request), audit: try context.auditContext()
            )
            return .noContent()
        }
    }

    static let readOnly = ["organization", "created_at", "updated_at"]
}
