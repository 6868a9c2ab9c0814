import Artifacts
import Catalog
import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct ArtifactStoreTests {
    /// A region, a plan and an organization to hang stacks on.
    static func seed(_ pool: PostgresPool) async throws {
        _ = try await RegionStore(pool: pool).create(
            Region(slug: "eu-west", name: "EU", baseDomain: "eu.example.net", gitopsPath: "clusters/eu-west", sharedStackCapacity: 10),
            audit: .test
        )
        _ = try await PlanStore(pool: pool).create(Plan(slug: "basic", name: "Basic"), audit: .test)
        for slug in ["org-a", "org-b"] {
            _ = try await OrganizationStore(pool: pool).create(Organization(slug: slug, name: slug, plan: "basic"), audit: .test)
        }
    }

    static func revision(_ files: [String: String]) throws -> ArtifactRevision {
        try ArtifactRevision(files: files.map { try ArtifactFile(path: $0.key, contents: Array($0.value.utf8)) })
    }

    @Test func revisionsAreNumberedAndTheSameDigestIsNotRecordedTwice() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let stack = try await StackStore(pool: pool).create(
                Stack(name: "acme-prod", region: "eu-west", kind: .dedicated, odooVersion: "17.0", organization: "org-a", tenant: "shop")
            )
            #expect(stack.currentRevision == 0)
            let store = ArtifactStore(pool: pool)
            await #expect(throws: CatalogError.notFound) { _ = try await store.revision(stack: stack.id) }

            let first = try Self.revision(["a.yaml": "a\n", "b.yaml": "shared\n"])
            let job = UUID()
            let (one, created) = try await store.record(first, stack: stack.id, job: job, actor: "alice")
            #expect(created && one.number == 1 && one.digest == first.digest && one.jobID == job && one.actor == "alice")
            #expect(one.manifest == first.files.map { ArtifactManifestEntry(path: $0.path, sha256: $0.sha256, size: $0.size) })

            let again = try await store.record(first, stack: stack.id, job: UUID(), actor: "bob")
            #expect(!again.created && again.revision == one)

            let second = try Self.revision(["a.yaml": "a2\n", "b.yaml": "shared\n", "c/d.yaml": "shared\n"])
            let (two, _) = try await store.record(second, stack: stack.id, job: nil, actor: "bob")
            #expect(two.number == 2)
            // Back to the first content: a new revision (3), not a rewrite of history.
            let (three, _) = try await store.record(first, stack: stack.id, job: nil, actor: "carol")
            #expect(three.number == 3 && three.digest == one.digest)

            let current = try await StackStore(pool: pool).get(stack.id)
            #expect(current.currentRevision == 3 && current.version == stack.version + 3)
            #expect(try await store.revision(stack: stack.id) == three)
            #expect(try await store.revision(stack: stack.id, number: 2) == two)
            await #expect(throws: CatalogError.notFound) { _ = try await store.revision(stack: stack.id, number: 4) }

            #expect(try await store.contents(of: "c/d.yaml", in: two) == Array("shared\n".utf8))
            await #expect(throws: CatalogError.notFound) { _ = try await store.contents(of: "c/d.yaml", in: three) }
            let all = try await store.contents(of: two)
            #expect(all.count == 2)

            // Deduplicated: four distinct contents across all revisions ("a", "a2", "shared").
            let blobs = try await pool.query("SELECT count(*)::int AS n FROM artifact_blobs")
            #expect(try blobs.first?.decode(Int.self, "n") == 3)

            try await store.setGitCommit(String(repeating: "ab", count: 20), stack: stack.id, number: 2)
            #expect(try await store.revision(stack: stack.id, number: 2).gitCommit == String(repeating: "ab", count: 20))
        }
    }

    @Test func concurrentRecordsGetDistinctNumbers() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let stack = try await StackStore(pool: pool).create(Stack(name: "shared-1", region: "eu-west", kind: .shared, odooVersion: "18.0"))
            let store = ArtifactStore(pool: pool)
            let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<6 {
                    group.addTask {
                        try await store.record(try Self.revision(["f.yaml": "\(index)\n"]), stack: stack.id, job: nil, actor: "w").revision.number
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(numbers.sorted() == Array(1...6))
            #expect(try await StackStore(pool: pool).get(stack.id).currentRevision == 6)
        }
    }

    @Test func recordingForAnUnknownStackIsNotFound() async throws {
        _ = try await TestDatabase.withSchema { pool, _ in
            await #expect(throws: CatalogError.notFound) {
                _ = try await ArtifactStore(pool: pool).record(try Self.revision(["a": "a"]), stack: UUID(), job: nil, actor: "x")
            }
        }
    }

    @Test func stacksListInPagesAndConfinedToAnOrganizationsDedicatedStacks() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let stacks = StackStore(pool: pool)
            var created: [Stack] = []
            created.append(try await stacks.create(Stack(name: "shared-1", region: "eu-west", kind: .shared, odooVersion: "17.0")))
            for (name, organization, tenant) in [("a-shop", "org-a", "shop"), ("a-web", "org-a", "web"), ("b-shop", "org-b", "shop")] {
                created.append(
                    try await stacks.create(
                        Stack(name: name, region: "eu-west", kind: .dedicated, odooVersion: "17.0", organization: organization, tenant: tenant)
                    )
                )
            }
            // Staff: everything, in pages of two ordered by id.
            let first = try await stacks.list(StackListQuery(limit: 2))
            let after = try #require(first.nextAfter.flatMap(UUID.init(uuidString:)))
            let second = try await stacks.list(StackListQuery(after: after, limit: 2))
            #expect(second.nextAfter == nil)
            #expect((first.items + second.items).map(\.id) == created.map(\.id).sorted { $0.uuidString.lowercased() < $1.uuidString.lowercased() })
            // An organization: its dedicated stacks only; a tenant-confined token: those tenants only.
            #expect(Set(try await stacks.list(StackListQuery(organization: "org-a")).items.map(\.name)) == ["a-shop", "a-web"])
            #expect(try await stacks.list(StackListQuery(organization: "org-a", tenants: ["web"])).items.map(\.name) == ["a-web"])
            #expect(try await stacks.list(StackListQuery(organization: "org-c")).items.isEmpty)

            await #expect(throws: CatalogError.alreadyExists(field: "name")) {
                _ = try await stacks.create(Stack(name: "shared-1", region: "eu-west", kind: .shared, odooVersion: "17.0"))
            }
            await #expect(throws: CatalogError.notFound) { _ = try await stacks.get(UUID()) }
            // A dedicated stack needs its owner; a region with stacks cannot be deleted.
            await #expect(throws: CatalogError.self) {
                _ = try await stacks.create(Stack(name: "lonely", region: "eu-west", kind: .dedicated, odooVersion: "17.0"))
            }
            await #expect(throws: CatalogError.hasDependents("other resources still refer to it")) {
                try await RegionStore(pool: pool).delete("eu-west", condition: .none, audit: .test)
            }
        }
    }
}
