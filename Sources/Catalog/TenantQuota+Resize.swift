extension TenantQuota {
    /// Throws when the plan does not admit one of its tenants at `new` size instead of `old`: the
    /// plan's allowed sizes, then the numeric quotas counted as if the tenant had the new size (a
    /// quota already exceeded, after a plan change, refuses only a change that grows it).
    func admitResize(
        environment: Tenant.Environment, placement: Tenant.Placement, from old: TenantSize, to new: TenantSize, plan: Plan
    ) throws(CatalogError) {
        if !plan.allowedSizes.contains(new.name) {
            throw .notAllowedByPlan(quota: "allowed_sizes", allowed: plan.allowedSizes, requested: new.name)
        }
        var after = self
        after.add(environment: environment, placement: placement, size: old, count: -1)
        after.add(environment: environment, placement: placement, size: new)
        for (before, next) in zip(usage(of: plan), after.usage(of: plan)) where next.used > next.limit && next.used > before.used {
            throw .quotaExceeded(quota: before.quota, limit: before.limit, used: before.used)
        }
    }
}
