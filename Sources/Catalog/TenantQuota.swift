import Postgres

/// What an organization's live tenants (every status but `deleted`) use of its plan, and the
/// checks a new tenant must pass.
struct TenantQuota: Sendable, Equatable {
    var tenants = 0
    var productionTenants = 0
    var dedicatedStacks = 0
    var cpuMillicores = 0
    var memoryMiB = 0
    var storageGiB = 0

    /// Counts one tenant.
    mutating func add(environment: Tenant.Environment, placement: Tenant.Placement, size: TenantSize, count: Int = 1) {
        tenants += count
        if environment == .production { productionTenants += count }
        if placement == .dedicated { dedicatedStacks += count }
        cpuMillicores += size.cpuMillicores * count
        memoryMiB += size.memoryMiB * count
        storageGiB += size.storageGiB * count
    }

    /// The plan's numeric quotas next to this use, in a fixed order.
    func usage(of plan: Plan) -> [QuotaUsage] {
        [
            QuotaUsage(quota: "max_tenants", limit: plan.maxTenants, used: tenants),
            QuotaUsage(quota: "max_production_tenants", limit: plan.maxProductionTenants, used: productionTenants),
            QuotaUsage(quota: "max_dedicated_stacks", limit: plan.maxDedicatedStacks, used: dedicatedStacks),
            QuotaUsage(quota: "max_cpu_millicores", limit: plan.maxCPUMillicores, used: cpuMillicores),
            QuotaUsage(quota: "max_memory_mib", limit: plan.maxMemoryMiB, used: memoryMiB),
            QuotaUsage(quota: "max_storage_gib", limit: plan.maxStorageGiB, used: storageGiB),
        ]
    }

    /// Throws the first quota that one more tenant would exceed: the plan's allowed placements,
    /// sizes and regions (empty = all), then the numeric quotas.
    func admit(
        environment: Tenant.Environment, placement: Tenant.Placement, size: TenantSize, region: String, plan: Plan
    ) throws(CatalogError) {
        if !plan.allowedPlacements.contains(placement.rawValue) {
            throw .notAllowedByPlan(quota: "allowed_placements", allowed: plan.allowedPlacements, requested: placement.rawValue)
        }
        if !plan.allowedSizes.contains(size.name) {
            throw .notAllowedByPlan(quota: "allowed_sizes", allowed: plan.allowedSizes, requested: size.name)
        }
        if !plan.allowedRegions.isEmpty, !plan.allowedRegions.contains(region) {
            throw .notAllowedByPlan(quota: "allowed_regions", allowed: plan.allowedRegions, requested: region)
        }
        var after = self
        after.add(environment: environment, placement: placement, size: size)
        for (before, next) in zip(usage(of: plan), after.usage(of: plan)) where next.used > next.limit && next.used > before.used {
            throw .quotaExceeded(quota: before.quota, limit: before.limit, used: before.used)
        }
    }

    /// Counts the organization's live tenants. Read after the organization row is locked, so no
    /// other create of the organization commits between this count and the caller's insert.
    static func current(organizationID: String, _ connection: PostgresConnection) throws -> TenantQuota {
        let rows = try connection.query(
            """
            SELECT environment, placement, size, count(*) AS tenants
            FROM tenants
            WHERE organization_id = $1::uuid AND status <> 'deleted'
            GROUP BY environment, placement, size
            """,
            [organizationID]
        )
        var quota = TenantQuota()
        for row in rows {
            guard let environment = Tenant.Environment(rawValue: try row.decode(String.self, "environment")),
                let placement = Tenant.Placement(rawValue: try row.decode(String.self, "placement")),
                let size = TenantSize.named(try row.decode(String.self, "size"))
            else { continue }
            quota.add(environment: environment, placement: placement, size: size, count: try row.decode(Int.self, "tenants"))
        }
        return quota
    }
}
