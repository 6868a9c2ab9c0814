public import Catalog
public import Foundation
public import JWT
public import Jobs
import Postgres

/// Runs every ``TenantJobKind``: the database work on the region's shared server, a new revision of
/// the tenant's stack through ``StackPublisher``, and the tenant's status.
///
/// Every step checks before it acts and tolerates finding its work done, so a job killed between
/// any two steps completes when it runs again. Catalog writes go through transactions fenced by the
/// job's lease. A tenant job that ends `dead` (or is cancelled) leaves the tenant `failed` with the
/// job's error (the trigger of migration 0008); faults that will not go away by retrying (a region
/// without a shared server, a spec the renderer refuses) fail the job at once.
public struct TenantLifecycleJob: JobHandler {
    let publisher: StackPublisher
    let servers: RegionDatabaseServers
    let secrets: SecretBox
    /// How long a deleted tenant's database is kept (`PROVISIONER_DELETE_GRACE`).
    let deleteGrace: TimeInterval
    /// The region whose shared server a region without one of its own uses (the embedded
    /// default's `local`, through `PROVISIONER_SHARED_REGION_FALLBACK`); `nil`: none, such a
    /// region's shared tenants fail with a clear error.
    let fallbackRegion: String?

    public init(
        publisher: StackPublisher, servers: RegionDatabaseServers, secrets: SecretBox, deleteGrace: TimeInterval,
        fallbackRegion: String? = nil
    ) {
        self.publisher = publisher
        self.servers = servers
        self.secrets = secrets
        self.deleteGrace = deleteGrace
        self.fallbackRegion = fallbackRegion
    }

    /// The handler under each kind it runs, for the worker's table.
    public func handlers() -> [String: any JobHandler] {
        Dictionary(uniqueKeysWithValues: TenantJobKind.allCases.map { ($0.rawValue, self as any JobHandler) })
    }

    public func run(_ context: JobContext) async throws {
        guard let kind = TenantJobKind(rawValue: context.job.kind) else {
            throw JobFailure.permanent("not a tenant job: \(context.job.kind)")
        }
        guard let text = context.job.payload.objectValue?[TenantJobKind.payloadKey]?.stringValue, let id = UUID(uuidString: text) else {
            throw JobFailure.permanent("the payload names no tenant")
        }
        let work: TenantWork
        do {
            work = try await context.withFencedTransaction { try TenantStore.work(tenant: id, on: $0) }
        } catch CatalogError.notFound {
            throw JobFailure.permanent("tenant \(text) does not exist")
        }
        switch kind {
        case .provision: try await provision(work, context)
        case .update: try await update(work, context)
        case .suspend: try await suspend(work, context)
        case .resume: try await resume(work, context)
        case .delete: try await delete(work, context)
        case .purge: try await purge(work, context)
        }
    }

    // MARK: - Kinds

    func provision(_ work: TenantWork, _ context: JobContext) async throws {
        guard ![.deleting, .deleted].contains(work.tenant.status) else { return }
        if [.pending, .failed].contains(work.tenant.status) {
            try await settle(work, .provisioning, context)
        }
        let server = try await ensureDatabase(work, context)
        try await context.step("render")
        let outcome = try await publisher.publish(work, sharedServer: server?.address, context: context)
        try await context.step("activate")
        guard outcome.members.contains(where: { $0.id == work.tenant.id }) || work.tenant.suspended else {
            throw NotServedYet()
        }
        try await settle(work, work.tenant.suspended ? .suspended : .active, context)
    }

    func update(_ work: TenantWork, _ context: JobContext) async throws {
        guard ![.deleting, .deleted].contains(work.tenant.status) else { return }
        if work.stack.stack.kind == .dedicated, work.stack.stack.odooVersion != work.tenant.odooVersion {
            // A dedicated stack runs its tenant's Odoo version (an upgrade the API accepted).
            let (stack, version) = (work.stack.stack.id, work.tenant.odooVersion)
            try await context.withFencedTransaction { connection in
                try TenantStore.setStackOdooVersion(stack, to: version, connection)
            }
        }
        let server = try await ensureDatabase(work, context)
        try await context.step("render")
        _ = try await publisher.publish(work, sharedServer: server?.address, context: context)
    }

    func suspend(_ work: TenantWork, _ context: JobContext) async throws {
        guard ![.deleting, .deleted].contains(work.tenant.status) else { return }
        let server = try await ensureDatabase(work, context)
        if work.tenant.suspended, let server {
            try await context.step("refuse_connections")
            try await server.provisioner.setDatabaseConnectionLimit(TenantDatabase(databaseName: work.tenant.database), 0)
        }
        try await context.step("render")
        _ = try await publisher.publish(work, sharedServer: server?.address, context: context)
        if work.tenant.suspended {
            try await settle(work, .suspended, context)
        }
    }

    func resume(_ work: TenantWork, _ context: JobContext) async throws {
        guard ![.deleting, .deleted].contains(work.tenant.status) else { return }
        let server = try await ensureDatabase(work, context)
        if !work.tenant.suspended, let server {
            try await context.step("allow_connections")
            try await server.provisioner.setDatabaseConnectionLimit(TenantDatabase(databaseName: work.tenant.database), -1)
        }
        try await context.step("render")
        _ = try await publisher.publish(work, sharedServer: server?.address, context: context)
        if !work.tenant.suspended {
            try await settle(work, .active, context)
        }
    }

    /// Removes the tenant's routes now (the catalog already says `deleting`), then schedules the
    /// purge after the grace period as the tenant's last job.
    func delete(_ work: TenantWork, _ context: JobContext) async throws {
        guard work.tenant.status == .deleting else { return }
        let server = try await sharedServer(work, context)
        try await context.step("render")
        _ = try await publisher.publish(work, sharedServer: server?.address, context: context)
        try await context.step("schedule_purge")
        let job = context.job
        let runAt = Date().addingTimeInterval(deleteGrace)
        try await context.withFencedTransaction { connection in
            let pending = try connection.query(
                """
                SELECT id FROM jobs
                WHERE kind = $1 AND payload ->> 'tenant' = $2 AND state IN ('queued', 'running', 'failed')
                LIMIT 1
                """,
                [TenantJobKind.purge.rawValue, work.tenant.id.uuidString.lowercased()]
            )
            guard pending.isEmpty else { return }
            let purge = try JobQueue.enqueue(
                JobRequest(
                    kind: TenantJobKind.purge.rawValue,
                    payload: [TenantJobKind.payloadKey: .string(work.tenant.id.uuidString.lowercased())],
                    queue: job.queue, runAt: runAt, concurrencyKey: TenantJobKind.concurrencyKey(tenant: work.tenant.id),
                    organization: work.tenant.organization, tenant: work.tenant.slug,
                    stack: work.tenant.stack?.uuidString.lowercased(), createdBy: job.createdBy, requestID: job.requestID
                ),
                on: connection
            )
            _ = try connection.execute("UPDATE tenants SET last_job = $2::uuid WHERE id = $1::uuid", [work.tenant.id, purge])
        }
    }

    /// Drops the tenant's database and role (shared), or removes the dedicated stack's directory,
    /// and ends the tenant `deleted`.
    func purge(_ work: TenantWork, _ context: JobContext) async throws {
        guard work.tenant.status == .deleting else { return }
        let server = try await sharedServer(work, context)
        if work.tenant.placement == .shared {
            guard let server else { throw noSharedServer(work) }
            try await context.step("drop_database")
            let stackRole = try work.stack.databaseRole.map { try StackDatabaseRole(roleName: $0) }
            try await server.provisioner.drop(TenantDatabase(databaseName: work.tenant.database), stack: stackRole)
        }
        try await context.step("render")
        _ = try await publisher.publish(
            work, sharedServer: server?.address, retire: work.tenant.placement == .dedicated, context: context
        )
        try await context.step("finish")
        let audit = auditContext(context)
        let job = context.job.id
        _ = try await context.withFencedTransaction { connection in
            try TenantStore.finishPurge(work.tenant.id, job: job, audit: audit, connection)
        }
    }

    // MARK: - Steps

    /// A revision was committed without the tenant (its database was not ready when the stack was
    /// read); running again renders it in.
    struct NotServedYet: Error, CustomStringConvertible {
        var description: String { "the stack's revision does not serve the tenant yet" }
    }

    struct Server {
        var provisioner: TenantDatabaseProvisioner
        var address: StackSpecBuilder.SharedServer
    }

    /// For a shared tenant: the stack's role, the tenant's role and database, and access, on the
    /// region's shared server; then the catalog notes the database ready. A dedicated tenant's
    /// database is its stack's own cluster, made by the rendered manifests: nothing to do here.
    /// Answers the shared server's address for the stack spec.
    func ensureDatabase(_ work: TenantWork, _ context: JobContext) async throws -> Server? {
        guard work.tenant.placement == .shared else {
            if !work.databaseReady {
                let id = work.tenant.id
                try await context.withFencedTransaction { try TenantStore.markDatabaseReady(id, $0) }
            }
            return nil
        }
        guard let server = try await sharedServer(work, context) else { throw noSharedServer(work) }
        try await context.step("database")
        let secrets = self.secrets
        let stackID = work.stack.stack.id
        let tenantID = work.tenant.id
        let candidateRole = StackDatabaseRole.generate().roleName
        let candidateStackPassword = try DatabasePassword.generate().sealed(with: secrets)
        let candidateTenantPassword = try DatabasePassword.generate().sealed(with: secrets)
        let (stackRole, stackSealed, tenantSealed) = try await context.withFencedTransaction { connection in
            let stack = try TenantStore.ensureStackRole(stackID, role: candidateRole, sealedPassword: candidateStackPassword, connection)
            let tenant = try TenantStore.ensureRolePassword(tenantID, sealedPassword: candidateTenantPassword, connection)
            return (stack.role, stack.sealedPassword, tenant)
        }
        guard let limit = TenantDatabase.connectionLimit(forSize: work.tenant.size) else {
            throw JobFailure.permanent("unknown size \(work.tenant.size)")
        }
        let database = try TenantDatabase(databaseName: work.tenant.database)
        let password = try DatabasePassword(sealed: tenantSealed, with: secrets)
        let stack = try StackDatabaseRole(roleName: stackRole)
        let stackPassword = try DatabasePassword(sealed: stackSealed, with: secrets)
        let result: Result<Void, TenantDatabaseError> = await Self.capture { () async throws(TenantDatabaseError) in
            try await server.provisioner.provision(
                database, password: password, connectionLimit: limit, stack: stack, stackPassword: stackPassword
            )
        }
        if case .failure(let error) = result {
            throw error.isRetryable ? error as any Error : JobFailure.permanent("tenant database: \(error)")
        }
        try await context.withFencedTransaction { try TenantStore.markDatabaseReady(tenantID, $0) }
        return server
    }

    static func capture(
        _ body: () async throws(TenantDatabaseError) -> Void
    ) async -> Result<Void, TenantDatabaseError> {
        do {
            try await body()
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    func sharedServer(_ work: TenantWork, _ context: JobContext) async throws -> Server? {
        var region = work.region
        if region.sharedPostgresURLSealed == nil, let fallbackRegion, fallbackRegion != region.slug {
            region = try await context.withFencedTransaction { try TenantStore.region(fallbackRegion, $0) }
        }
        guard let found = try await servers.server(for: region) else { return nil }
        return Server(
            provisioner: found.provisioner, address: try StackSpecBuilder.SharedServer(connectionString: found.connectionString)
        )
    }

    func noSharedServer(_ work: TenantWork) -> JobFailure {
        JobFailure.permanent("region \(work.region.slug) has no shared PostgreSQL server (set its shared_postgres_url)")
    }

    func settle(_ work: TenantWork, _ status: Tenant.Status, _ context: JobContext) async throws {
        let audit = auditContext(context)
        let id = work.tenant.id
        try await context.withFencedTransaction { connection in
            _ = try TenantStore.settle(id, status: status, audit: audit, connection)
        }
    }

    /// Changes made by a worker are audited as the worker, with the request that enqueued the job.
    func auditContext(_ context: JobContext) -> AuditContext {
        AuditContext(
            actor: AuditActor(issuer: "provisioner-worker", subject: "worker:\(context.workerID)", organization: nil),
            requestID: context.job.requestID
        )
    }
}
