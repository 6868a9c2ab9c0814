public import Foundation
import JWT
public import Postgres

/// A caller's intent for an existing tenant (a change, a deletion, a suspend or a resume), recorded
/// in the caller's transaction together with the job that carries it out.
///
/// Each one locks the tenant row (a change locks its organization row first, as a create does, so
/// that the quota counts it reads stay true until it commits), checks the `If-Match` version and
/// the tenant's state, asks `enqueue` for the job, then records the job as `last_job`, bumps the
/// version and appends the audit record. Nothing here changes `status` but a deletion (to
/// `deleting`): the jobs move it.
extension TenantStore {
    /// Enqueues the job of `kind` for the tenant (as it was before the change) in the caller's
    /// transaction and returns its id.
    public typealias JobEnqueuer = (_ tenant: Tenant, _ kind: TenantJobKind) throws -> UUID

    // MARK: - Changes

    /// Applies a merge patch of size, custom domains and Odoo version, and enqueues `tenant.update`.
    /// A change that changes nothing enqueues nothing and returns `job == nil`.
    ///
    /// Refused with `.preconditionFailed` (stale version), `.conflict(tenant_deleting)`,
    /// `.invalid` (a rule of the change; a version change of a shared tenant, or downward),
    /// `.notAllowedByPlan` / `.quotaExceeded` (the new size), `.domainTaken`.
    public static func change(
        organization: String, slug: String, _ change: TenantChange, condition: VersionCondition = .none,
        audit: AuditContext, on connection: PostgresConnection, enqueue: JobEnqueuer
    ) throws -> (tenant: Tenant, job: UUID?) {
        let errors = change.fieldErrors()
        guard errors.isEmpty else { throw CatalogError.invalid(errors) }
        let owner = try CatalogSQL.single(
            connection.query(
                "SELECT id::text AS id, plan_id::text AS plan_id FROM organizations WHERE slug = $1 FOR NO KEY UPDATE",
                [organization]
            )
        )
        let before = try lockForAction(organization, slug, condition, connection)

        let newSize = change.size.flatMap { $0 == before.size ? nil : $0 }
        let newVersion = change.odooVersion.flatMap { $0 == before.odooVersion ? nil : $0 }
        let newDomains = change.customDomains.flatMap { Set($0) == Set(before.customDomains) ? nil : $0 }
        guard newSize != nil || newVersion != nil || newDomains != nil else { return (before, nil) }

        if let newVersion {
            try checkVersionChange(before, to: newVersion)
        }
        if let newSize {
            guard let old = TenantSize.named(before.size), let new = TenantSize.named(newSize) else {
                throw CatalogError.invalid([FieldError(field: "size", message: "unknown size '\(newSize)'")])
            }
            let plan = try PlanStore.decode(
                CatalogSQL.single(
                    connection.query(
                        "SELECT \(PlanStore.columns) FROM plans WHERE id = $1::uuid FOR SHARE",
                        [try owner.decode(String.self, "plan_id")]
                    )
                )
            )
            try TenantQuota.current(organizationID: try owner.decode(String.self, "id"), connection).admitResize(
                environment: before.environment, placement: before.placement, from: old, to: new, plan: plan
            )
        }
        if let newDomains {
            try replaceCustomDomains(of: before, with: newDomains, connection)
        }

        let job = try enqueue(before, .update)
        _ = try connection.execute(
            """
            UPDATE tenants SET size = coalesce($2, size), odoo_version = coalesce($3, odoo_version), last_job = $4::uuid,
                version = version + 1, updated_at = now()
            WHERE id = $1::uuid
            """,
            [before.id, newSize, newVersion, job]
        )
        let after = try fetch(id: before.id, connection)
        try AuditStore.append(
            auditRecord(audit, "update", after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
            on: connection
        )
        return (after, job)
    }

    /// The Odoo version moves only up (16.0 → 17.0 → 18.0), and only on a dedicated stack: a shared
    /// stack runs one version for all its tenants.
    static func checkVersionChange(_ tenant: Tenant, to version: String) throws {
        guard tenant.placement == .dedicated else {
            throw CatalogError.invalid([
                FieldError(field: "odoo_version", message: "only a dedicated tenant changes its Odoo version")
            ])
        }
        guard let from = Tenant.odooVersions.firstIndex(of: tenant.odooVersion),
            let to = Tenant.odooVersions.firstIndex(of: version), to > from
        else {
            throw CatalogError.invalid([
                FieldError(field: "odoo_version", message: "can only move up from \(tenant.odooVersion)")
            ])
        }
    }

    /// Makes `domains` the tenant's custom domains: the same rules as a create (not under a region's
    /// base domain, `.domainTaken` when another tenant holds one).
    static func replaceCustomDomains(of tenant: Tenant, with domains: [String], _ connection: PostgresConnection) throws {
        try checkOutsideRegionDomains(domains, connection)
        let removed = Set(tenant.customDomains).subtracting(domains).sorted()
        let added = Set(domains).subtracting(tenant.customDomains).sorted()
        if !removed.isEmpty {
            _ = try connection.execute(
                "DELETE FROM tenant_domains WHERE tenant_id = $1::uuid AND kind = 'custom' AND domain = ANY($2::text[])",
                [tenant.id, CatalogSQL.textArray(removed)]
            )
        }
        for domain in added {
            // ON CONFLICT waits for a concurrent insert of the same domain and then skips if it committed.
            let inserted = try connection.query(
                """
                INSERT INTO tenant_domains (domain, tenant_id, kind) VALUES ($1, $2::uuid, 'custom')
                ON CONFLICT (domain) DO NOTHING RETURNING domain
                """,
                [domain, tenant.id]
            )
            guard !inserted.isEmpty else { throw CatalogError.domainTaken(domain) }
        }
    }

    // MARK: - Deletion

    /// Moves the tenant to `deleting` and enqueues `tenant.delete`. A tenant already `deleting`
    /// answers its current `last_job` and enqueues nothing (a retried DELETE is harmless);
    /// `enqueued` says which happened.
    public static func requestDeletion(
        organization: String, slug: String, condition: VersionCondition = .none, audit: AuditContext,
        on connection: PostgresConnection, enqueue: JobEnqueuer
    ) throws -> (tenant: Tenant, job: UUID, enqueued: Bool) {
        let before = try lockLive(organization, slug, connection)
        guard condition.admits(before.version) else { throw CatalogError.preconditionFailed }
        if before.status == .deleting, let job = before.lastJob {
            return (before, job, false)
        }
        let job = try enqueue(before, .delete)
        let after = try record(before, "delete", status: .deleting, job: job, audit: audit, connection)
        return (after, job, true)
    }

    // MARK: - Suspend and resume

    /// Asks for an `active` tenant's routes and connections to be taken down: `suspended` becomes
    /// true (the status stays until the `tenant.suspend` job ends it `suspended`).
    /// `.conflict(invalid_state)` for any other status, or a suspend already asked for.
    public static func suspend(
        organization: String, slug: String, condition: VersionCondition = .none, audit: AuditContext,
        on connection: PostgresConnection, enqueue: JobEnqueuer
    ) throws -> (tenant: Tenant, job: UUID) {
        let before = try lockForAction(organization, slug, condition, connection)
        guard before.status == .active, !before.suspended else {
            throw CatalogError.conflict(
                code: "invalid_state",
                detail: before.suspended
                    ? "the tenant is already suspended or being suspended"
                    : "only an active tenant can be suspended (this one is \(before.status.rawValue))"
            )
        }
        let job = try enqueue(before, .suspend)
        return (try record(before, "suspend", suspended: true, job: job, audit: audit, connection), job)
    }

    /// Brings a suspended tenant back (`suspended` becomes false, `tenant.resume`), or retries the
    /// provisioning of a `failed` one (`tenant.provision` again; its worker clears `error`).
    /// `.conflict(invalid_state)` for any other tenant.
    public static func resume(
        organization: String, slug: String, condition: VersionCondition = .none, audit: AuditContext,
        on connection: PostgresConnection, enqueue: JobEnqueuer
    ) throws -> (tenant: Tenant, job: UUID) {
        let before = try lockForAction(organization, slug, condition, connection)
        if before.status == .failed {
            let job = try enqueue(before, .provision)
            return (try record(before, "retry", job: job, audit: audit, connection), job)
        }
        guard before.status == .suspended || (before.status == .active && before.suspended) else {
            throw CatalogError.conflict(
                code: "invalid_state",
                detail: "only a suspended or failed tenant can be resumed (this one is \(before.status.rawValue))"
            )
        }
        let job = try enqueue(before, .resume)
        return (try record(before, "resume", suspended: false, job: job, audit: audit, connection), job)
    }

    // MARK: - Shared steps

    /// The live tenant, row-locked, when `condition` admits its version and it is not being
    /// deleted: what every action on a tenant starts with.
    static func lockForAction(
        _ organization: String, _ slug: String, _ condition: VersionCondition, _ connection: PostgresConnection
    ) throws -> Tenant {
        let tenant = try lockLive(organization, slug, connection)
        guard condition.admits(tenant.version) else { throw CatalogError.preconditionFailed }
        try refuseDeleting(tenant)
        return tenant
    }

    /// `.conflict(tenant_deleting)` for a tenant on its way out.
    static func refuseDeleting(_ tenant: Tenant) throws {
        guard tenant.status != .deleting else {
            throw CatalogError.conflict(code: "tenant_deleting", detail: "the tenant is being deleted")
        }
    }

    /// Records `job` as the tenant's `last_job` with the new status and intent, bumps the version
    /// and appends `tenant.<verb>` with the fields before and after.
    static func record(
        _ before: Tenant, _ verb: String, status: Tenant.Status? = nil, suspended: Bool? = nil, job: UUID,
        audit: AuditContext, _ connection: PostgresConnection
    ) throws -> Tenant {
        _ = try connection.execute(
            """
            UPDATE tenants SET status = coalesce($2, status), suspended = coalesce($3::boolean, suspended),
                last_job = $4::uuid, version = version + 1, updated_at = now()
            WHERE id = $1::uuid
            """,
            [before.id, status?.rawValue, suspended, job]
        )
        let after = try fetch(id: before.id, connection)
        try AuditStore.append(
            auditRecord(audit, verb, after, AuditSummary.changes(from: before.auditFields, to: after.auditFields)),
            on: connection
        )
        return after
    }
}
