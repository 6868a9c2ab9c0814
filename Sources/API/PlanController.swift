import Catalog
import Hummingbird
import JWT

/// `/v1/plans`: quota limits (provider catalog; no deletion).
struct PlanController {
    let store: PlanStore

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/plans", access: .permission(.plansRead)) { request, _ in
            let page = try await store.list(Cursor.pageRequest(request))
            return .page(page.items.map(\.json), nextAfter: page.nextAfter)
        }
        routes.add(.post, "/v1/plans", access: .permission(.plansWrite)) { request, context in
            var fields = FieldReader(try await JSONBody.object(request))
            let slug = fields.string("slug", required: true, valid: NamePattern.isSlug, rule: RegionController.slugRule)
            let name = fields.string(
                "name", required: true, valid: NamePattern.isDisplayName, rule: RegionController.nameRule
            )
            var plan = Plan(slug: slug ?? "", name: name ?? "")
            Self.readLimits(&fields, into: &plan)
            fields.refuseReadOnly(Self.readOnly)
            var errors = fields.finish()
            if errors.isEmpty { errors = plan.ruleViolations() }
            guard errors.isEmpty else { throw ProblemError.validation(errors) }
            let created = try await store.create(plan, audit: try context.auditContext())
            return .resource(created.json, version: created.version, status: .created, location: "/v1/plans/\(created.slug)")
        }
        routes.add(.get, "/v1/plans/{plan}", access: .permission(.plansRead)) { _, context in
            let plan = try await store.get(try context.parameters.require("plan"))
            return .resource(plan.json, version: plan.version)
        }
        routes.add(.patch, "/v1/plans/{plan}", access: .permission(.plansWrite)) { request, context in
            let slug = try context.parameters.require("plan")
            let condition = EntityTag.condition(request)
            var fields = FieldReader(try await JSONBody.object(request, allowMergePatch: true))
            let name = fields.string("name", valid: NamePattern.isDisplayName, rule: RegionController.nameRule)
            // Read the limits onto a blank plan to learn which ones the patch sets.
            var patch = Plan(slug: slug, name: name ?? "")
            Self.readLimits(&fields, into: &patch)
            fields.refuseReadOnly(["slug"] + Self.readOnly)
            try fields.validate()
            let named = Set(Self.limitFields.filter { fields.has($0) })
            let limits = patch
            let plan = try await store.update(slug, condition: condition, audit: try context.auditContext()) { plan in
                if let name { plan.name = name }
                Self.apply(limits, fields: named, to: &plan)
            }
            return .resource(plan.json, version: plan.version)
        }
    }

    static let readOnly = ["created_at", "updated_at"]
    static let limitFields = [
        "max_tenants", "max_production_tenants", "max_dedicated_stacks", "max_cpu_millicores", "max_memory_mib",
        "max_storage_gib", "allowed_placements", "allowed_sizes", "allowed_regions", "backup_retention_days",
    ]

    /// Reads every limit field present in the body onto `plan`.
    static func readLimits(_ fields: inout FieldReader, into plan: inout Plan) {
        if let value = fields.integer("max_tenants", in: 0...100_000) { plan.maxTenants = value }
        if let value = fields.integer("max_production_tenants", in: 0...100_000) { plan.maxProductionTenants = value }
        if let value = fields.integer("max_dedicated_stacks", in: 0...10_000) { plan.maxDedicatedStacks = value }
        if let value = fields.integer("max_cpu_millicores", in: 0...10_000_000) { plan.maxCPUMillicores = value }
        if let value = fields.integer("max_memory_mib", in: 0...100_000_000) { plan.maxMemoryMiB = value }
        if let value = fields.integer("max_storage_gib", in: 0...1_000_000) { plan.maxStorageGiB = value }
        if let value = fields.stringSet(
            "allowed_placements", valid: Plan.placements.contains, rule: "must list placements of shared, dedicated",
            allowEmpty: false
        ) {
            plan.allowedPlacements = value
        }
        if let value = fields.stringSet(
            "allowed_sizes", valid: Plan.sizes.contains, rule: "must list sizes of s, m, l, xl", allowEmpty: false
        ) {
            plan.allowedSizes = value
        }
        if let value = fields.stringSet(
            "allowed_regions", valid: NamePattern.isSlug, rule: "must list region slugs"
        ) {
            plan.allowedRegions = value
        }
        if let value = fields.integer("backup_retention_days", in: 1...3650) { plan.backupRetentionDays = value }
    }

    /// Copies the limits a patch named from `patch` onto `plan`.
    static func apply(_ patch: Plan, fields: Set<String>, to plan: inout Plan) {
        if fields.contains("max_tenants") { plan.maxTenants = patch.maxTenants }
        if fields.contains("max_production_tenants") { plan.maxProductionTenants = patch.maxProductionTenants }
        if fields.contains("max_dedicated_stacks") { plan.maxDedicatedStacks = patch.maxDedicatedStacks }
        if fields.contains("max_cpu_millicores") { plan.maxCPUMillicores = patch.maxCPUMillicores }
        if fields.contains("max_memory_mib") { plan.maxMemoryMiB = patch.maxMemoryMiB }
        if fields.contains("max_storage_gib") { plan.maxStorageGiB = patch.maxStorageGiB }
        if fields.contains("allowed_placements") { plan.allowedPlacements = patch.allowedPlacements }
        if fields.contains("allowed_sizes") { plan.allowedSizes = patch.allowedSizes }
        if fields.contains("allowed_regions") { plan.allowedRegions = patch.allowedRegions }
        if fields.contains("backup_retention_days") { plan.backupRetentionDays = patch.backupRetentionDays }
    }
}
