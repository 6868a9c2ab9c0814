import Catalog
import Hummingbird
import JWT

/// `/v1/organizations`: customer retail groups.
struct OrganizationController {
    let store: OrganizationStore

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/organizations", access: .permission(.orgsRead)) { request, context in
            let principal = try context.requirePrincipal()
            let page = try await store.list(Cursor.pageRequest(request), only: principal.organization)
            return .page(page.items.map(\.json), nextAfter: page.nextAfter)
        }
        routes.add(.post, "/v1/organizations", access: .staff(.orgsWrite)) { request, context in
            var fields = FieldReader(try await JSONBody.object(request))
            let slug = fields.string("slug", required: true, valid: NamePattern.isSlug, rule: RegionController.slugRule)
            let name = fields.string(
                "name", required: true, valid: NamePattern.isDisplayName, rule: RegionController.nameRule
            )
            let plan = fields.string("plan", required: true, valid: NamePattern.isSlug, rule: "must be a plan slug")
            fields.refuseReadOnly(Self.readOnly)
            try fields.validate()
            guard let slug, let name, let plan else { throw ProblemError.validation([]) }
            let created = try await store.create(
                Organization(slug: slug, name: name, plan: plan), audit: try context.auditContext()
            )
            return .resource(
                created.json, version: created.version, status: .created, location: "/v1/organizations/\(slug)"
            )
        }
        routes.add(.get, "/v1/organizations/{org}", access: .permission(.orgsRead)) { _, context in
            let organization = try await store.get(try context.parameters.require("org"))
            return .resource(organization.json, version: organization.version)
        }
        routes.add(.patch, "/v1/organizations/{org}", access: .permission(.orgsWrite)) { request, context in
            let principal = try context.requirePrincipal()
            let slug = try context.parameters.require("org")
            let condition = EntityTag.condition(request)
            var fields = FieldReader(try await JSONBody.object(request, allowMergePatch: true))
            let name = fields.string("name", valid: NamePattern.isDisplayName, rule: RegionController.nameRule)
            let plan = fields.string("plan", valid: NamePattern.isSlug, rule: "must be a plan slug")
            fields.refuseReadOnly(["slug"] + Self.readOnly)
            try fields.validate()
            if plan != nil && !principal.isStaff {
                throw ProblemError.forbidden("only provider staff change an organization's plan")
            }
            let organization = try await store.update(slug, condition: condition, audit: try context.auditContext()) {
                organization in
                if let name { organization.name = name }
                if let plan { organization.plan = plan }
            }
            return .resource(organization.json, version: organization.version)
        }
        routes.add(.delete, "/v1/organizations/{org}", access: .staff(.orgsWrite)) { request, context in
            try await store.delete(
                try context.parameters.require("org"), condition: EntityTag.condition(request),
                audit: try context.auditContext()
            )
            return .noContent()
        }
    }

    static let readOnly = ["created_at", "updated_at"]
}
