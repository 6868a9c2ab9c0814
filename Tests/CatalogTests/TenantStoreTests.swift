import Catalog
import Foundation
import JWT
import Postgres
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct TenantStoreTests {
    /// A catalog with two regions (`eu-west` holding `capacity` tenants per shared stack, and
    /// `us-east`), the plan `plan`, and organizations each with a brand `outlet` defaulting to `eu-west`.
    static func seed(
        _ pool: PostgresPool, plan: Plan, organizations: [String] = ["acme"], capacity: Int = 10
    ) async throws {
        let regions = RegionStore(pool: pool)
        _ = try await regions.create(
            Region(
                slug: "eu-west", name: "EU", baseDomain: "eu.example.net", gitopsPath: "clusters/eu-west",
                sharedStackCapacity: capacity
            ),
            audit: .test
        )
        _ = try await regions.create(
            Region(
                slug: "us-east", name: "US", baseDomain: "us.example.net", gitopsPath: "clusters/us-east",
                sharedStackCapacity: capacity
            ),
            audit: .test
        )
        _ = try await PlanStore(pool: pool).create(plan, audit: .test)
        for organization in organizations {
            _ = try await OrganizationStore(pool: pool).create(
                Organization(slug: organization, name: organization, plan: plan.slug), audit: .test
            )
            _ = try await BrandStore(pool: pool).create(
                Brand(organization: organization, slug: "outlet", name: "Outlet", defaultRegion: "eu-west"), audit: .test
            )
        }
    }

    /// A plan generous in everything but what a test sets.
    static func plan(_ change: (inout Plan) -> Void = { _ in }) -> Plan {
        var plan = Plan(
            slug: "retail", name: "Retail", maxTenants: 1000, maxProductionTenants: 1000, maxDedicatedStacks: 10,
            maxCPUMillicores: 10_000_000, maxMemoryMiB: 10_000_000, maxStorageGiB: 10_000_000,
            allowedPlacements: ["shared", "dedicated"], allowedSizes: ["s", "m", "l", "xl"]
        )
        change(&plan)
        return plan
    }

    static func request(
        _ slug: String, organization: String = "acme", environment: Tenant.Environment = .staging,
        placement: Tenant.Placement = .shared, size: String = "s", region: String? = nil, odooVersion: String = "17.0",
        customDomains: [String] = []
    ) -> TenantRequest {
        TenantRequest(
            organization: organization, slug: slug, brand: "outlet", environment: environment, region: region,
            placement: placement, size: size, odooVersion: odooVersion, customDomains: customDomains
        )
    }

    static func count(_ pool: PostgresPool, _ sql: String, _ parameters: [(any PostgresBindable)?] = []) async throws -> Int {
        try #require(try await pool.query(sql, parameters).first).decode(Int.self, "n")
    }

    /// What a create ended in, for counting the outcomes of concurrent creates.
    enum Outcome: Sendable, Equatable {
        case created
        case refused(CatalogError)
    }

    static func createAll(_ store: TenantStore, _ requests: [TenantRequest]) async throws -> [Outcome] {
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            for request in requests {
                group.addTask {
                    do {
                        _ = try await store.create(request, audit: .test)
                        return .created
                    } catch let error as CatalogError {
                        return .refused(error)
                    }
                }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    /// Opens `connections` pooled connections at once, so that a race starts with all of them
    /// ready instead of being paced by connection set-up.
    static func warmUp(_ pool: PostgresPool, connections: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask { _ = try await pool.withConnection { try $0.execute("SELECT pg_sleep(0.05)") } }
            }
            try await group.waitForAll()
        }
    }

    // MARK: - Races

    @Test func concurrentCreatesNeverExceedTheTenantQuota() async throws {
        try await TestDatabase.withSchema(poolSize: 16) { pool, _ in
            try await Self.seed(
                pool,
                plan: Self.plan {
                    $0.maxTenants = 10
                    $0.maxProductionTenants = 10
                })
            try await Self.warmUp(pool, connections: 16)
            let store = TenantStore(pool: pool)
            let outcomes = try await Self.createAll(store, (0..<50).map { Self.request("shop-\($0)") })
            #expect(outcomes.filter { $0 == .created }.count == 10)
            #expect(outcomes.filter { $0 == .refused(.quotaExceeded(quota: "max_tenants", limit: 10, used: 10)) }.count == 40)
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM tenants") == 10)
            // Refused creates rolled back their reserved database names with everything else.
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM tenant_database_names") == 10)
            #expect(try await store.usage(organization: "acme")["max_tenants"] == QuotaUsage(quota: "max_tenants", limit: 10, used: 10))
        }
    }

    @Test func concurrentSharedCreatesFillStacksWithoutOverfillingThem() async throws {
        // Ten organizations, so that the organization locks do not serialize the creates and
        // the pool's lock is what keeps the stacks right.
        let organizations = (0..<10).map { "org-\($0)" }
        try await TestDatabase.withSchema(poolSize: 16) { pool, _ in
            try await Self.seed(pool, plan: Self.plan(), organizations: organizations, capacity: 50)
            try await Self.warmUp(pool, connections: 16)
            let store = TenantStore(pool: pool)
            let requests = (0..<200).map { Self.request("shop-\($0)", organization: organizations[$0 % 10]) }
            let outcomes = try await Self.createAll(store, requests)
            #expect(outcomes.allSatisfy { $0 == .created })
            let rows = try await pool.query(
                """
                SELECT s.tenant_count, s.capacity, (SELECT count(*) FROM tenants t WHERE t.stack_id = s.id) AS placed
                FROM stacks s WHERE s.kind = 'shared'
                """
            )
            #expect(rows.count == 4)
            for row in rows {
                #expect(try row.decode(Int.self, "placed") == 50)
                #expect(try row.decode(Int.self, "tenant_count") == 50)
                #expect(try row.decode(Int.self, "capacity") == 50)
            }
        }
    }

    // MARK: - Placement

    @Test func sharedPlacementPrefersTheLeastLoadedStackOfTheRegionAndVersion() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan(), capacity: 3)
            let store = TenantStore(pool: pool)
            let (first, a) = try await store.create(Self.request("one"), audit: .test)
            #expect(a.createdStack && a.tenantsOnStack == 1 && a.capacity == 3)
            #expect(a.stack.kind == .shared && a.stack.organization == nil && a.stack.name.hasPrefix("shared-17-"))
            #expect(first.stack == a.stack.id)
            _ = try await store.create(Self.request("two"), audit: .test)
            let (_, full) = try await store.create(Self.request("three"), audit: .test)
            #expect(!full.createdStack && full.stack.id == a.stack.id && full.tenantsOnStack == 3)
            // Every stack full: the pool grows.
            let (_, b) = try await store.create(Self.request("four"), audit: .test)
            #expect(b.createdStack && b.stack.id != a.stack.id && b.tenantsOnStack == 1)
            let (_, onlyRoom) = try await store.create(Self.request("five"), audit: .test)
            #expect(onlyRoom.stack.id == b.stack.id && onlyRoom.tenantsOnStack == 2)
            // Deletions free slots: the first stack (1 tenant) is now less loaded than the second (2).
            for slug in ["one", "two"] {
                _ = try await store.setStatus(organization: "acme", slug: slug, to: .deleting, audit: .test)
                _ = try await store.markDeleted(organization: "acme", slug: slug, audit: .test)
            }
            let (_, leastLoaded) = try await store.create(Self.request("six"), audit: .test)
            #expect(!leastLoaded.createdStack && leastLoaded.stack.id == a.stack.id && leastLoaded.tenantsOnStack == 2)
            // Another Odoo version or another region is another pool.
            let (_, otherVersion) = try await store.create(Self.request("seven", odooVersion: "18.0"), audit: .test)
            #expect(otherVersion.createdStack && otherVersion.stack.odooVersion == "18.0")
            let (_, otherRegion) = try await store.create(Self.request("eight", region: "us-east"), audit: .test)
            #expect(otherRegion.createdStack && otherRegion.stack.region == "us-east")
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM stacks") == 4)
        }
    }

    @Test func dedicatedPlacementCreatesAStackForTheTenant() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan { $0.maxDedicatedStacks = 1 })
            let store = TenantStore(pool: pool)
            let (tenant, placement) = try await store.create(Self.request("flagship", placement: .dedicated), audit: .test)
            #expect(placement.createdStack && placement.capacity == 1 && placement.tenantsOnStack == 1)
            #expect(placement.stack.kind == .dedicated)
            #expect(placement.stack.organization == "acme" && placement.stack.tenant == "flagship")
            #expect(placement.stack.region == "eu-west" && placement.stack.odooVersion == "17.0")
            #expect(tenant.stack == placement.stack.id && tenant.placement == .dedicated)
            #expect(try await StackStore(pool: pool).get(placement.stack.id) == placement.stack)
            await #expect(throws: CatalogError.quotaExceeded(quota: "max_dedicated_stacks", limit: 1, used: 1)) {
                _ = try await store.create(Self.request("second", placement: .dedicated), audit: .test)
            }
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM stacks WHERE kind = 'dedicated'") == 1)
        }
    }

    // MARK: - Domains

    @Test func customDomainsAreUniqueAcrossOrganizations() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan(), organizations: ["acme", "globex"])
            let store = TenantStore(pool: pool)
            let (tenant, _) = try await store.create(
                Self.request("shop", customDomains: ["www.acme.com", "shop.acme.com"]), audit: .test
            )
            #expect(tenant.customDomains == ["shop.acme.com", "www.acme.com"])
            #expect(tenant.hostnames == ["shop.acme.eu.example.net", "shop.acme.com", "www.acme.com"])
            await #expect(throws: CatalogError.domainTaken("www.acme.com")) {
                _ = try await store.create(
                    Self.request("shop", organization: "globex", customDomains: ["www.globex.com", "www.acme.com"]),
                    audit: .test
                )
            }
            // The refused create left nothing behind: its other domain is still free.
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM tenant_domains WHERE domain = 'www.globex.com'") == 0)
            // Hostnames under a region's base domain are the provider's.
            await #expect(throws: CatalogError.self) {
                _ = try await store.create(
                    Self.request("shop", organization: "globex", customDomains: ["shop.acme.eu.example.net"]), audit: .test
                )
            }
            // A deleted tenant's domains are free again.
            _ = try await store.setStatus(organization: "acme", slug: "shop", to: .deleting, audit: .test)
            _ = try await store.markDeleted(organization: "acme", slug: "shop", audit: .test)
            let (taken, _) = try await store.create(
                Self.request("shop", organization: "globex", customDomains: ["www.acme.com"]), audit: .test
            )
            #expect(taken.customDomains == ["www.acme.com"])
        }
    }

    @Test func concurrentClaimsOfOneDomainLeaveOneOwner() async throws {
        let organizations = (0..<8).map { "org-\($0)" }
        try await TestDatabase.withSchema(poolSize: 8) { pool, _ in
            try await Self.seed(pool, plan: Self.plan(), organizations: organizations)
            let outcomes = try await Self.createAll(
                TenantStore(pool: pool),
                organizations.map { Self.request("shop", organization: $0, customDomains: ["shop.example.com"]) }
            )
            #expect(outcomes.filter { $0 == .created }.count == 1)
            #expect(outcomes.filter { $0 == .refused(.domainTaken("shop.example.com")) }.count == 7)
        }
    }

    // MARK: - Quotas

    @Test func productionTenantsHaveTheirOwnQuota() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan { $0.maxProductionTenants = 1 })
            let store = TenantStore(pool: pool)
            _ = try await store.create(Self.request("live", environment: .production), audit: .test)
            await #expect(throws: CatalogError.quotaExceeded(quota: "max_production_tenants", limit: 1, used: 1)) {
                _ = try await store.create(Self.request("live-two", environment: .production), audit: .test)
            }
            _ = try await store.create(Self.request("rehearsal", environment: .staging), audit: .test)
        }
    }

    @Test func resourceQuotasCountEachTenantBySize() async throws {
        try await TestDatabase.withSchema { pool, _ in
            // Two `s` tenants (500 millicores each) fit; a third does not.
            try await Self.seed(pool, plan: Self.plan { $0.maxCPUMillicores = 1000 })
            let store = TenantStore(pool: pool)
            _ = try await store.create(Self.request("one"), audit: .test)
            _ = try await store.create(Self.request("two"), audit: .test)
            await #expect(throws: CatalogError.quotaExceeded(quota: "max_cpu_millicores", limit: 1000, used: 1000)) {
                _ = try await store.create(Self.request("three"), audit: .test)
            }
        }
    }

    @Test(arguments: [
        (Self.request("big", size: "xl"), CatalogError.notAllowedByPlan(quota: "allowed_sizes", allowed: ["s", "m"], requested: "xl")),
        (
            Self.request("far", region: "us-east"),
            CatalogError.notAllowedByPlan(quota: "allowed_regions", allowed: ["eu-west"], requested: "us-east")
        ),
        (
            Self.request("own", placement: .dedicated),
            CatalogError.notAllowedByPlan(quota: "allowed_placements", allowed: ["shared"], requested: "dedicated")
        ),
    ])
    func thePlanRefusesWhatItDoesNotAllow(request: TenantRequest, refusal: CatalogError) async throws {
        try await TestDatabase.withSchema { pool, _ in
            let restricted = Self.plan {
                $0.allowedSizes = ["s", "m"]
                $0.allowedPlacements = ["shared"]
                $0.allowedRegions = ["eu-west"]
            }
            // The plan names eu-west, so the regions must exist first.
            try await Self.seed(pool, plan: Self.plan { $0.slug = "open" })
            _ = try await PlanStore(pool: pool).create(restricted, audit: .test)
            _ = try await OrganizationStore(pool: pool).update("acme", condition: .none, audit: .test) { $0.plan = "retail" }
            await #expect(throws: refusal) {
                _ = try await TenantStore(pool: pool).create(request, audit: .test)
            }
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM tenants") == 0)
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM stacks") == 0)
        }
    }

    @Test func usageShowsLimitsAndWhatLiveTenantsUse() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(
                pool,
                plan: Self.plan {
                    $0.maxTenants = 8
                    $0.maxProductionTenants = 3
                    $0.maxDedicatedStacks = 2
                    $0.maxCPUMillicores = 20_000
                    $0.maxMemoryMiB = 40_000
                    $0.maxStorageGiB = 500
                }
            )
            let store = TenantStore(pool: pool)
            _ = try await store.create(Self.request("one", environment: .production, size: "m"), audit: .test)
            _ = try await store.create(Self.request("two", placement: .dedicated, size: "l"), audit: .test)
            _ = try await store.create(Self.request("three"), audit: .test)
            // A deleted tenant no longer counts; one being deleted still does.
            _ = try await store.setStatus(organization: "acme", slug: "three", to: .deleting, audit: .test)
            _ = try await store.markDeleted(organization: "acme", slug: "three", audit: .test)
            _ = try await store.create(Self.request("four"), audit: .test)
            _ = try await store.setStatus(organization: "acme", slug: "four", to: .deleting, audit: .test)
            let usage = try await store.usage(organization: "acme")
            #expect(usage.plan == "retail")
            #expect(
                usage.quotas == [
                    QuotaUsage(quota: "max_tenants", limit: 8, used: 3),
                    QuotaUsage(quota: "max_production_tenants", limit: 3, used: 1),
                    QuotaUsage(quota: "max_dedicated_stacks", limit: 2, used: 1),
                    QuotaUsage(quota: "max_cpu_millicores", limit: 20_000, used: 2000 + 4000 + 500),
                    QuotaUsage(quota: "max_memory_mib", limit: 40_000, used: 4096 + 8192 + 1024),
                    QuotaUsage(quota: "max_storage_gib", limit: 500, used: 20 + 50 + 10),
                ]
            )
            #expect(usage.allowedPlacements == ["shared", "dedicated"] && usage.allowedRegions.isEmpty)
            await #expect(throws: CatalogError.notFound) { _ = try await store.usage(organization: "missing") }
        }
    }

    // MARK: - Lifecycle

    @Test func aDeletedTenantsSlugIsReusedWithAFreshDatabaseName() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan())
            let store = TenantStore(pool: pool)
            let (first, placement) = try await store.create(Self.request("shop"), audit: .test)
            #expect(first.database.hasPrefix("t_") && first.database.count == 14)
            await #expect(throws: CatalogError.alreadyExists(field: "slug")) {
                _ = try await store.create(Self.request("shop"), audit: .test)
            }
            _ = try await store.setStatus(organization: "acme", slug: "shop", to: .deleting, audit: .test)
            let deleted = try await store.markDeleted(organization: "acme", slug: "shop", audit: .test)
            #expect(deleted.status == .deleted && deleted.deletedAt != nil && deleted.hostnames.isEmpty)
            #expect(try await Self.count(pool, "SELECT tenant_count AS n FROM stacks WHERE id = $1::uuid", [placement.stack.id]) == 0)
            await #expect(throws: CatalogError.notFound) { _ = try await store.get(organization: "acme", slug: "shop") }

            let (second, _) = try await store.create(Self.request("shop"), audit: .test)
            #expect(second.id != first.id && second.database != first.database)
            #expect(second.hostnames == ["shop.acme.eu.example.net"])
            #expect(try await store.get(organization: "acme", slug: "shop") == second)
            #expect(try await store.get(id: first.id).status == .deleted)
            // The first name stays reserved, and the reservation cannot be removed.
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM tenant_database_names") == 2)
            await #expect(throws: DatabaseError.self) {
                try await pool.query("DELETE FROM tenant_database_names WHERE name = $1", [first.database])
            }
        }
    }

    @Test func statusFollowsTheLifecycle() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan())
            let store = TenantStore(pool: pool)
            let job = UUID()
            let (created, _) = try await store.create(Self.request("shop"), audit: .test)
            #expect(created.status == .pending && created.version == 1 && created.lastJob == nil)
            await #expect(throws: CatalogError.self) {
                _ = try await store.setStatus(organization: "acme", slug: "shop", to: .active, audit: .test)
            }
            await #expect(throws: CatalogError.self) {
                _ = try await store.markDeleted(organization: "acme", slug: "shop", audit: .test)
            }
            let provisioning = try await store.setStatus(organization: "acme", slug: "shop", to: .provisioning, job: job, audit: .test)
            #expect(provisioning.status == .provisioning && provisioning.lastJob == job && provisioning.version == 2)
            await #expect(throws: CatalogError.preconditionFailed) {
                _ = try await store.setStatus(
                    organization: "acme", slug: "shop", to: .active, condition: .oneOf([1]), audit: .test
                )
            }
            let active = try await store.setStatus(
                organization: "acme", slug: "shop", to: .active, condition: .oneOf([2]), audit: .test
            )
            #expect(active.status == .active && active.lastJob == job && active.version == 3)
            #expect(try await store.setStatus(organization: "acme", slug: "shop", to: .suspended, audit: .test).status == .suspended)
            #expect(try await store.setStatus(organization: "acme", slug: "shop", to: .active, audit: .test).status == .active)
            await #expect(throws: CatalogError.notFound) {
                _ = try await store.setStatus(organization: "globex", slug: "shop", to: .active, audit: .test)
            }
        }
    }

    @Test func listPagesThroughFilteredTenants() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan(), organizations: ["acme", "globex"])
            let store = TenantStore(pool: pool)
            for slug in ["delta", "alpha", "echo", "charlie", "bravo"] {
                _ = try await store.create(Self.request(slug, environment: slug < "c" ? .production : .staging), audit: .test)
            }
            _ = try await store.create(Self.request("other", organization: "globex"), audit: .test)
            _ = try await store.setStatus(organization: "acme", slug: "echo", to: .deleting, audit: .test)
            _ = try await store.markDeleted(organization: "acme", slug: "echo", audit: .test)

            var slugs: [String] = []
            var after: String?
            repeat {
                let page = try await store.list(TenantListQuery(organization: "acme", after: after, limit: 2))
                #expect(page.items.count <= 2)
                slugs += page.items.map(\.slug)
                after = page.nextAfter
            } while after != nil
            #expect(slugs == ["alpha", "bravo", "charlie", "delta"])

            let production = try await store.list(TenantListQuery(organization: "acme", environment: .production))
            #expect(production.items.map(\.slug) == ["alpha", "bravo"])
            let confined = try await store.list(TenantListQuery(organization: "acme", tenants: ["delta", "other"]))
            #expect(confined.items.map(\.slug) == ["delta"])
            let withDeleted = try await store.list(TenantListQuery(organization: "acme", includeDeleted: true))
            #expect(withDeleted.items.map(\.slug) == ["alpha", "bravo", "charlie", "delta", "echo"])
            let deleted = try await store.list(TenantListQuery(organization: "acme", status: .deleted, includeDeleted: true))
            #expect(deleted.items.map(\.slug) == ["echo"])
            await #expect(throws: CatalogError.notFound) { _ = try await store.list(TenantListQuery(organization: "missing")) }
        }
    }

    @Test func unknownBrandsAndRegionsAreFieldErrors() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool, plan: Self.plan())
            let store = TenantStore(pool: pool)
            var request = Self.request("shop")
            request.brand = "missing"
            await #expect(throws: CatalogError.invalid([FieldError(field: "brand", message: "unknown brand 'missing'")])) {
                _ = try await store.create(request, audit: .test)
            }
            await #expect(throws: CatalogError.invalid([FieldError(field: "region", message: "unknown region 'mars'")])) {
                _ = try await store.create(Self.request("shop", region: "mars"), audit: .test)
            }
            await #expect(throws: CatalogError.self) {
                _ = try await store.create(Self.request("Shop", size: "huge"), audit: .test)
            }
            await #expect(throws: CatalogError.notFound) {
                _ = try await store.create(Self.request("shop", organization: "missing"), audit: .test)
            }
        }
    }

    // MARK: - Audit

    @Test func changesAreAuditedWithTheirTransaction() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(
                pool,
                plan: Self.plan {
                    $0.maxTenants = 1
                    $0.maxProductionTenants = 1
                })
            let store = TenantStore(pool: pool)
            let audit = AuditStore(pool: pool)
            let (tenant, placement) = try await store.create(Self.request("shop"), audit: .test)
            // A refused create records nothing: its events rolled back with it.
            await #expect(throws: CatalogError.quotaExceeded(quota: "max_tenants", limit: 1, used: 1)) {
                _ = try await store.create(Self.request("more"), audit: .test)
            }
            _ = try await store.setStatus(organization: "acme", slug: "shop", to: .deleting, audit: .test)
            _ = try await store.markDeleted(organization: "acme", slug: "shop", audit: .test)

            let tenantEvents = try await audit.list(AuditQuery(organization: "acme", targetType: "tenant")).items.reversed()
            #expect(tenantEvents.map(\.action) == ["tenant.create", "tenant.update", "tenant.delete"])
            #expect(tenantEvents.allSatisfy { $0.targetID == "shop" && $0.requestID == "test-request" })
            let created = try #require(tenantEvents.first)
            #expect(created.summary.change("database")?["to"] == .string(tenant.database))
            #expect(created.summary.change("placement")?["to"] == .string("shared"))
            let deletion = try #require(tenantEvents.last)
            #expect(deletion.summary.change("status") == ["from": "deleting", "to": "deleted"])

            let stackEvents = try await audit.list(AuditQuery(action: "stack.create")).items
            #expect(stackEvents.map(\.targetID) == [placement.stack.id.uuidString.lowercased()])
            #expect(stackEvents.first?.organization == nil)
            #expect(try await Self.count(pool, "SELECT count(*) AS n FROM audit_events WHERE target_id = 'more'") == 0)
        }
    }
}

extension JSONValue {
    /// The `{from, to}` of one field in an audit summary.
    fileprivate func change(_ field: String) -> [String: JSONValue]? {
        objectValue?["changes"]?.objectValue?[field]?.objectValue
    }
}
