import Catalog
import Foundation
import JWT
import Postgres
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct TenantChangeTests {
    /// Resizes `slug` in its own transaction, recording a made-up job id (the catalog does not
    /// read the jobs table).
    static func resize(_ pool: PostgresPool, _ slug: String, to size: String) async throws -> Result<UUID?, CatalogError> {
        do {
            let job = try await pool.transaction { connection in
                try TenantStore.change(
                    organization: "acme", slug: slug, TenantChange(size: size), audit: .test, on: connection
                ) { _, kind in
                    #expect(kind == .update)
                    return UUID()
                }.job
            }
            return .success(job)
        } catch let error as CatalogError {
            return .failure(error)
        }
    }

    @Test func concurrentResizesNeverExceedTheResourceQuotas() async throws {
        try await TestDatabase.withSchema(poolSize: 8) { pool, _ in
            // Five tenants at s use 2500 of 4500 millicores: one of them may grow to m (+1500), not two.
            try await TenantStoreTests.seed(pool, plan: TenantStoreTests.plan { $0.maxCPUMillicores = 4500 })
            let store = TenantStore(pool: pool)
            for index in 0..<5 { _ = try await store.create(TenantStoreTests.request("shop-\(index)"), audit: .test) }
            try await TenantStoreTests.warmUp(pool, connections: 8)
            let outcomes = try await withThrowingTaskGroup(of: Result<UUID?, CatalogError>.self) { group in
                for index in 0..<5 { group.addTask { try await Self.resize(pool, "shop-\(index)", to: "m") } }
                var outcomes: [Result<UUID?, CatalogError>] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let granted = outcomes.compactMap { try? $0.get() }
            #expect(granted.count == 1)
            #expect(granted.allSatisfy { $0 != nil })
            // Each refusal counted the granted resize: the organization lock serializes them.
            let refusals = outcomes.filter {
                if case .failure(.quotaExceeded(quota: "max_cpu_millicores", limit: 4500, used: 4000)) = $0 { return true }
                return false
            }
            #expect(refusals.count == 4)
            let usage = try await store.usage(organization: "acme")
            #expect(usage["max_cpu_millicores"] == QuotaUsage(quota: "max_cpu_millicores", limit: 4500, used: 4000))
            let resized = try await TenantStoreTests.count(pool, "SELECT count(*) AS n FROM tenants WHERE size = 'm'")
            #expect(resized == 1)
        }
    }

    @Test func aResizeBackToTheSameSizeChangesNothing() async throws {
        try await TestDatabase.withSchema(poolSize: 4) { pool, _ in
            try await TenantStoreTests.seed(pool, plan: TenantStoreTests.plan())
            let store = TenantStore(pool: pool)
            let (created, _) = try await store.create(TenantStoreTests.request("shop"), audit: .test)
            #expect(try await Self.resize(pool, "shop", to: "s") == .success(nil))
            let after = try await store.get(organization: "acme", slug: "shop")
            #expect(after.version == created.version)
            #expect(after.lastJob == created.lastJob)
        }
    }
}
