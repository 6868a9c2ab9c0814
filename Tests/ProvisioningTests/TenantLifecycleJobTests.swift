import Catalog
import Foundation
import GitOps
import JWT
import Jobs
import Logging
import MetricsTestKit
import Postgres
import Provisioning
import Rendering
import ServiceLifecycle
import TestSupport
import Testing

/// Tenant jobs through a real worker: databases on the real test server (as the region's shared
/// server), revisions in the catalog and in a real git repository, statuses in the catalog.
@Suite(.timeLimit(.minutes(4))) struct TenantLifecycleJobTests {
    struct Harness {
        var pool: PostgresPool
        var queue: JobQueue
        var secrets: SecretBox
        var repository: URL

        /// Creates the tenant and enqueues its provisioning job, as the API does, in one transaction.
        func create(_ request: TenantRequest) async throws -> (Tenant, UUID) {
            var stamped = request
            let job = TimeOrderedID.make()
            stamped.job = job
            let request = stamped
            let tenant = try await pool.transaction { connection in
                let (tenant, _) = try TenantStore.create(request, audit: .test, on: connection)
                _ = try JobQueue.enqueue(self.jobRequest(.provision, tenant, id: job), on: connection)
                return tenant
            }
            return (tenant, job)
        }

        func jobRequest(_ kind: TenantJobKind, _ tenant: Tenant, id: UUID? = nil) -> JobRequest {
            var request = JobRequest(
                kind: kind.rawValue, payload: [TenantJobKind.payloadKey: .string(tenant.id.uuidString.lowercased())],
                maxAttempts: 2, concurrencyKey: TenantJobKind.concurrencyKey(tenant: tenant.id),
                organization: tenant.organization, tenant: tenant.slug, createdBy: "tester"
            )
            request.id = id
            return request
        }

        /// Records `sql` (the API's part of a change) and enqueues `kind` as the tenant's last job.
        func run(_ kind: TenantJobKind, _ tenant: Tenant, sql: String? = nil) async throws -> Job {
            let id = TimeOrderedID.make()
            try await pool.transaction { connection in
                if let sql { _ = try connection.execute(sql, [tenant.id]) }
                _ = try connection.execute("UPDATE tenants SET last_job = $2::uuid WHERE id = $1::uuid", [tenant.id, id])
                _ = try JobQueue.enqueue(self.jobRequest(kind, tenant, id: id), on: connection)
            }
            return try await finished(id)
        }

        func finished(_ id: UUID) async throws -> Job {
            try await StackRenderJobTests.finished(queue, id)
        }

        func tenant(_ id: UUID) async throws -> Tenant {
            try await TenantStore(pool: pool).get(id: id)
        }

        /// The tenant role's password, opened from the catalog.
        func password(_ tenant: Tenant) async throws -> DatabasePassword {
            let row = try #require(
                try await pool.query("SELECT role_password FROM tenants WHERE id = $1::uuid", [tenant.id]).first
            )
            return try DatabasePassword(sealed: try row.decode([UInt8].self, "role_password"), with: secrets)
        }

        func databaseExists(_ name: String) async throws -> Bool {
            try await pool.query("SELECT 1 AS found FROM pg_database WHERE datname = $1", [name]).count == 1
        }

        func roleExists(_ name: String) async throws -> Bool {
            try await pool.query("SELECT 1 AS found FROM pg_roles WHERE rolname = $1", [name]).count == 1
        }

        /// The files of the stack's directory on the branch, by path.
        func files(_ stack: Stack) throws -> [String: String] {
            let files = try GitOpsRepository(path: repository).files(at: GitOpsLocation(region: stack.region, stack: stack.name))
            return files.mapValues { String(decoding: $0, as: UTF8.self) }
        }
    }

    static func withHarness(
        configureServer: Bool = true, fallbackRegion: String? = nil, _ body: (Harness) async throws -> Void
    ) async throws {
        let repository = FileManager.default.temporaryDirectory.appendingPathComponent("tenant-jobs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: repository) }
        try await TestDatabase.withSchema(poolSize: 8) { pool, _ in
            let secrets = try SecretBox(key: SecureRandom.bytes(32))
            let sealed = configureServer ? try secrets.seal(Array(try TestDatabase.baseConnectionString().utf8)) : nil
            _ = try await RegionStore(pool: pool).create(
                Region(
                    slug: "eu-west", name: "EU", baseDomain: "eu.example.net", gitopsPath: "clusters/eu-west",
                    sharedStackCapacity: 10, sharedPostgresURLSealed: sealed
                ),
                audit: .test
            )
            _ = try await PlanStore(pool: pool).create(
                Plan(
                    slug: "retail", name: "Retail", maxTenants: 100, maxProductionTenants: 100, maxDedicatedStacks: 10,
                    maxCPUMillicores: 10_000_000, maxMemoryMiB: 10_000_000, maxStorageGiB: 10_000_000,
                    allowedPlacements: ["shared", "dedicated"], allowedSizes: ["s", "m", "l", "xl"]
                ),
                audit: .test
            )
            for organization in ["acme", "bolt"] {
                _ = try await OrganizationStore(pool: pool).create(
                    Organization(slug: organization, name: organization, plan: "retail"), audit: .test
                )
                _ = try await BrandStore(pool: pool).create(
                    Brand(organization: organization, slug: "outlet", name: "Outlet", defaultRegion: "eu-west"), audit: .test
                )
            }
            let templates = try TemplateSet.load(directory: StackRenderJobTests.root.appendingPathComponent("templates").path)
            var logger = Logger(label: "tenant-jobs-test")
            logger.logLevel = .error
            let servers = RegionDatabaseServers(secrets: secrets, logger: logger)
            let jobs = TenantLifecycleJob(
                publisher: StackPublisher(
                    renderer: StackRenderer(templates: templates), repository: GitOpsRepository(path: repository),
                    builder: StackSpecBuilder(defaults: StackDefaults())
                ),
                servers: servers, secrets: secrets, deleteGrace: 0, fallbackRegion: fallbackRegion
            )
            let queue = JobQueue(pool: pool, retryPolicy: RetryPolicy(base: .milliseconds(50)))
            let worker = Worker(
                queue: queue, configuration: WorkerConfiguration(slots: 4, pollInterval: .milliseconds(50)),
                handlers: jobs.handlers(), listenerConfiguration: nil, metrics: WorkerMetrics(factory: TestMetrics()),
                logger: logger
            )
            let group = ServiceGroup(services: [worker], logger: logger)
            let running = Task { try await group.run() }
            let harness = Harness(pool: pool, queue: queue, secrets: secrets, repository: repository)
            let result: Result<Void, any Error>
            do {
                try await body(harness)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            // Whatever happened, no tenant database or role outlives the test.
            let names = try await pool.query("SELECT name FROM tenant_database_names").map { try $0.decode(String.self, "name") }
            let roles = try await pool.query("SELECT database_role FROM stacks WHERE database_role IS NOT NULL")
                .map { try $0.decode(String.self, "database_role") }
            await group.triggerGracefulShutdown()
            try? await running.value
            let admin = PostgresPool(
                configuration: TenantDatabaseProvisioner.adminConfiguration(connectionString: try TestDatabase.baseConnectionString()),
                logger: logger
            )
            let provisioner = TenantDatabaseProvisioner(adminPool: admin, logger: logger)
            for name in names {
                try? await provisioner.drop(try TenantDatabase(databaseName: name))
            }
            for role in roles {
                try? await provisioner.dropStackRole(try StackDatabaseRole(roleName: role))
            }
            await admin.close()
            await servers.close()
            try result.get()
        }
    }

    static func request(_ slug: String, organization: String = "acme", placement: Tenant.Placement = .shared) -> TenantRequest {
        TenantRequest(
            organization: organization, slug: slug, brand: "outlet", environment: .production, placement: placement, size: "s",
            odooVersion: "17.0"
        )
    }

    @Test func sharedTenantsGetTheirOwnDatabasesAndRoutesThroughTheirWholeLifecycle() async throws {
        try await Self.withHarness { harness in
            let (paris, parisJob) = try await harness.create(Self.request("paris"))
            let (outlet, outletJob) = try await harness.create(Self.request("outlet", organization: "bolt"))
            #expect(try await harness.finished(parisJob).state == .succeeded)
            #expect(try await harness.finished(outletJob).state == .succeeded)
            let active = try await harness.tenant(paris.id)
            #expect(active.status == .active)
            #expect(active.stack == (try await harness.tenant(outlet.id)).stack)
            #expect(try await harness.databaseExists(paris.database))

            // The tenant's role reaches its own database, and not the other tenant's.
            let password = try await harness.password(paris)
            let who = try await TenantDatabaseTests.whoAmI(user: paris.database, password: password, database: paris.database)
            #expect(who.session == paris.database)
            #expect(try await TenantDatabaseTests.refusal(user: paris.database, password: password, database: outlet.database) != nil)

            // One revision serves both; its routes name both hostnames.
            let stack = try await StackStore(pool: harness.pool).get(try #require(active.stack))
            let routes = try #require(try harness.files(stack)["traefik/dynamic.yaml"])
            #expect(routes.contains("paris.acme.eu.example.net"))
            #expect(routes.contains("outlet.bolt.eu.example.net"))
            let revision = try await ArtifactStore(pool: harness.pool).revision(stack: stack.id)
            #expect(revision.gitCommit == (try GitOpsRepository(path: harness.repository).head()))

            // Suspend: routes gone, open sessions ended, new ones refused, status follows the job.
            let suspended = try await TenantDatabaseTests.asRole(paris.database, password: password, database: paris.database) { session in
                _ = try await session.query("SELECT 1 AS one")
                let job = try await harness.run(.suspend, paris, sql: "UPDATE tenants SET suspended = true WHERE id = $1::uuid")
                await #expect(throws: (any Error).self) { _ = try await session.query("SELECT 1 AS one") }
                return job
            }
            #expect(suspended.state == .succeeded)
            #expect(try await harness.tenant(paris.id).status == .suspended)
            #expect(try harness.files(stack)["traefik/dynamic.yaml"]?.contains("paris.acme.eu.example.net") == false)
            #expect(try await TenantDatabaseTests.refusal(user: paris.database, password: password, database: paris.database) != nil)

            // Resume brings both back.
            let resumed = try await harness.run(.resume, paris, sql: "UPDATE tenants SET suspended = false WHERE id = $1::uuid")
            #expect(resumed.state == .succeeded)
            #expect(try await harness.tenant(paris.id).status == .active)
            #expect(try harness.files(stack)["traefik/dynamic.yaml"]?.contains("paris.acme.eu.example.net") == true)
            #expect(try await TenantDatabaseTests.refusal(user: paris.database, password: password, database: paris.database) == nil)

            // Delete: routes go at once; with no grace period the purge follows, dropping role and database.
            _ = try await TenantStore(pool: harness.pool).setStatus(
                organization: "acme", slug: "paris", to: .deleting, audit: .test
            )
            let deleting = try await harness.run(.delete, paris)
            #expect(deleting.state == .succeeded)
            let purgeID = try #require(try await harness.tenant(paris.id).lastJob)
            #expect(purgeID != deleting.id)
            let purge = try await harness.finished(purgeID)
            #expect(purge.state == .succeeded)
            let deleted = try await harness.tenant(paris.id)
            #expect(deleted.status == .deleted)
            #expect(try await harness.databaseExists(paris.database) == false)
            #expect(try await harness.roleExists(paris.database) == false)
            let after = try #require(try harness.files(stack)["traefik/dynamic.yaml"])
            #expect(!after.contains("paris.acme.eu.example.net"))
            #expect(after.contains("outlet.bolt.eu.example.net"))

            // The same slug again: a fresh database.
            let (again, againJob) = try await harness.create(Self.request("paris"))
            #expect(try await harness.finished(againJob).state == .succeeded)
            #expect(again.database != paris.database)
            #expect(try await harness.databaseExists(again.database))
        }
    }

    @Test func aDedicatedTenantGetsAWholeStackThatIsRetiredAfterDeletion() async throws {
        try await Self.withHarness { harness in
            let (flagship, job) = try await harness.create(Self.request("flagship", placement: .dedicated))
            #expect(try await harness.finished(job).state == .succeeded)
            let active = try await harness.tenant(flagship.id)
            #expect(active.status == .active)
            let stack = try await StackStore(pool: harness.pool).get(try #require(active.stack))
            let files = try harness.files(stack)
            #expect(files["kubernetes/database-cluster.yaml"] != nil)
            #expect(files["compose/compose.yaml"] != nil)
            // Its database is its own cluster's, not the shared server's.
            #expect(try await harness.databaseExists(flagship.database) == false)

            // Suspended: the workloads and the database cluster stay, every route goes.
            let suspended = try await harness.run(.suspend, flagship, sql: "UPDATE tenants SET suspended = true WHERE id = $1::uuid")
            #expect(suspended.state == .succeeded)
            #expect(try await harness.tenant(flagship.id).status == .suspended)
            let quiet = try harness.files(stack)
            #expect(quiet["kubernetes/ingress-routes.yaml"] == nil)
            #expect(quiet["kubernetes/database-cluster.yaml"] == files["kubernetes/database-cluster.yaml"])
            #expect(quiet["traefik/dynamic.yaml"]?.contains("flagship.acme.eu.example.net") == false)
            let resumed = try await harness.run(.resume, flagship, sql: "UPDATE tenants SET suspended = false WHERE id = $1::uuid")
            #expect(resumed.state == .succeeded)
            #expect(try await harness.tenant(flagship.id).status == .active)
            #expect(try harness.files(stack) == files)

            // An upgrade the API accepted: the stack follows the tenant's Odoo version.
            let upgraded = try await harness.run(.update, flagship, sql: "UPDATE tenants SET odoo_version = '18.0' WHERE id = $1::uuid")
            #expect(upgraded.state == .succeeded)
            #expect(try await StackStore(pool: harness.pool).get(stack.id).odooVersion == "18.0")
            #expect(try harness.files(stack)["kubernetes/odoo-web.yaml"]?.contains("image: odoo:18.0-") == true)

            _ = try await TenantStore(pool: harness.pool).setStatus(
                organization: "acme", slug: "flagship", to: .deleting, audit: .test
            )
            #expect(try await harness.run(.delete, flagship).state == .succeeded)
            let purge = try await harness.finished(try #require(try await harness.tenant(flagship.id).lastJob))
            #expect(purge.state == .succeeded)
            #expect(try await harness.tenant(flagship.id).status == .deleted)
            #expect(try harness.files(stack).isEmpty)
            #expect(try await ArtifactStore(pool: harness.pool).revision(stack: stack.id).manifest.isEmpty)
        }
    }

    @Test func aJobOutOfAttemptsLeavesTheTenantFailedAndARetryBringsItActive() async throws {
        try await Self.withHarness(configureServer: false) { harness in
            let (paris, job) = try await harness.create(Self.request("paris"))
            let dead = try await harness.finished(job)
            #expect(dead.state == .dead)
            let failed = try await harness.tenant(paris.id)
            #expect(failed.status == .failed)
            #expect(failed.error?.contains("shared_postgres_url") == true)

            let sealed = try harness.secrets.seal(Array(try TestDatabase.baseConnectionString().utf8))
            _ = try await RegionStore(pool: harness.pool).update("eu-west", condition: .none, audit: .test) {
                $0.sharedPostgresURLSealed = sealed
            }
            #expect(try await harness.run(.provision, paris).state == .succeeded)
            let active = try await harness.tenant(paris.id)
            #expect(active.status == .active)
            #expect(active.error == nil)
            #expect(try await harness.databaseExists(paris.database))
        }
    }

    /// The embedded default: a region created without a shared server of its own uses the
    /// fallback region's (`PROVISIONER_SHARED_REGION_FALLBACK`).
    @Test func aRegionWithoutASharedServerUsesTheFallbackRegionsServer() async throws {
        try await Self.withHarness(fallbackRegion: "eu-west") { harness in
            _ = try await RegionStore(pool: harness.pool).create(
                Region(slug: "us-east", name: "US", baseDomain: "us.example.net", gitopsPath: "clusters/us-east", sharedStackCapacity: 10),
                audit: .test
            )
            var request = Self.request("boston")
            request.region = "us-east"
            let (boston, job) = try await harness.create(request)
            #expect(try await harness.finished(job).state == .succeeded)
            #expect(try await harness.tenant(boston.id).status == .active)
            #expect(try await harness.databaseExists(boston.database))
        }
    }
}
