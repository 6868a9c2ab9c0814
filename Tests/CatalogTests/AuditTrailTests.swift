import Catalog
import Foundation
import JWT
import Postgres
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct AuditTrailTests {
    /// Region, plan, organization, two brands, and changes to them: eight events.
    static func seed(_ pool: PostgresPool) async throws {
        let region = Region(
            slug: "eu-west", name: "EU", baseDomain: "eu.example.net", gitopsPath: "clusters/eu-west",
            sharedStackCapacity: 10
        )
        _ = try await RegionStore(pool: pool).create(region, audit: .test)
        _ = try await PlanStore(pool: pool).create(Plan(slug: "basic", name: "Basic"), audit: .test)
        let organizations = OrganizationStore(pool: pool)
        _ = try await organizations.create(Organization(slug: "acme", name: "Acme", plan: "basic"), audit: .test)
        let brands = BrandStore(pool: pool)
        _ = try await brands.create(Brand(organization: "acme", slug: "outlet", name: "Outlet"), audit: .test)
        _ = try await brands.create(Brand(organization: "acme", slug: "bazaar", name: "Bazaar"), audit: .test)
        _ = try await brands.update(organization: "acme", slug: "outlet", condition: .none, audit: .test) {
            $0.defaultRegion = "eu-west"
        }
        _ = try await organizations.update("acme", condition: .none, audit: .test) { $0.name = "Acme Group" }
        try await brands.delete(organization: "acme", slug: "bazaar", condition: .none, audit: .test)
    }

    static func count(_ pool: PostgresPool, where condition: String = "true") async throws -> Int {
        let rows = try await pool.query("SELECT count(*) AS n FROM audit_events WHERE \(condition)")
        return try #require(rows.first).decode(Int.self, "n")
    }

    /// Runs SQL the way an intruder with the owner's rights would: triggers off, edit, triggers on.
    static func tamper(_ pool: PostgresPool, _ sql: String) async throws {
        try await pool.withConnection { connection in
            try connection.simpleQuery(
                """
                BEGIN;
                ALTER TABLE audit_events DISABLE TRIGGER USER;
                \(sql);
                ALTER TABLE audit_events ENABLE TRIGGER USER;
                COMMIT;
                """
            )
        }
    }

    static func id(_ pool: PostgresPool, atPosition sequence: Int) async throws -> String {
        let rows = try await pool.query("SELECT id::text AS id FROM audit_events WHERE sequence = $1", [sequence])
        return try #require(rows.first).decode(String.self, "id")
    }

    @Test func committedWritesEachHaveOneEvent() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let page = try await AuditStore(pool: pool).list(AuditQuery(limit: 200))
            let actions = page.items.reversed().map { "\($0.action) \($0.targetID ?? "-") \($0.organization ?? "-")" }
            #expect(
                actions == [
                    "region.create eu-west -", "plan.create basic -", "organization.create acme acme",
                    "brand.create outlet acme", "brand.create bazaar acme", "brand.update outlet acme",
                    "organization.update acme acme", "brand.delete bazaar acme",
                ]
            )
            let update = try #require(page.items.first { $0.action == "brand.update" })
            #expect(update.summary == ["changes": ["default_region": ["from": nil, "to": "eu-west"]]])
            #expect(update.actor == AuditContext.test.actor)
            #expect(update.requestID == "test-request")
            #expect(update.outcome == .succeeded)
            #expect(update.sequence == nil && update.hash == nil)
        }
    }

    @Test func writesThatRollBackLeaveNoEvent() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let before = try await Self.count(pool)
            // The region is a brand's default: the delete is recorded, then refused by the foreign key.
            await #expect(throws: CatalogError.hasDependents("other resources still refer to it")) {
                try await RegionStore(pool: pool).delete("eu-west", condition: .none, audit: .test)
            }
            await #expect(throws: CatalogError.preconditionFailed) {
                _ = try await OrganizationStore(pool: pool).update("acme", condition: .oneOf([99]), audit: .test) {
                    $0.name = "Never"
                }
            }
            await #expect(throws: CatalogError.alreadyExists(field: "slug")) {
                _ = try await PlanStore(pool: pool).create(Plan(slug: "basic", name: "Again"), audit: .test)
            }
            #expect(try await Self.count(pool) == before)
            #expect(try await Self.count(pool, where: "action = 'region.delete'") == 0)
            #expect(try await RegionStore(pool: pool).get("eu-west").slug == "eu-west")
        }
    }

    @Test func secretsNeverAppearInSummaries() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let regions = RegionStore(pool: pool)
            let sealed = Array("sealed-secret-bytes".utf8)
            let region = Region(
                slug: "us-east", name: "US", baseDomain: "us.example.net", gitopsPath: "clusters/us-east",
                sharedStackCapacity: 5, sharedPostgresURLSealed: sealed
            )
            _ = try await regions.create(region, audit: .test)
            _ = try await regions.update("us-east", condition: .none, audit: .test) {
                $0.sharedPostgresURLSealed = Array("other-sealed-bytes".utf8)
            }
            let rows = try await pool.query("SELECT summary::text AS summary FROM audit_events ORDER BY serial")
            let summaries = try rows.map { try $0.decode(String.self, "summary") }
            #expect(summaries.count == 2)
            for summary in summaries {
                #expect(!summary.contains("sealed"))
                #expect(!summary.contains(AuditChainHex.encode(sealed)))
                #expect(summary.contains("[redacted]"))
            }
            // A replaced secret shows as changed, with neither value.
            #expect(summaries[1].contains("shared_postgres_url"))
        }
    }

    @Test func untouchedChainVerifies() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let store = AuditStore(pool: pool)
            let empty = try await store.verify()
            #expect(empty.isIntact && empty.verifiedEvents == 0)
            try await Self.seed(pool)
            #expect(try await store.sealAll(batch: 3) == 8)
            _ = try await BrandStore(pool: pool).create(
                Brand(organization: "acme", slug: "late", name: "Late"), audit: .test
            )
            let verification = try await store.verify(batch: 3)
            #expect(verification.isIntact)
            #expect(verification.verifiedEvents == 8)
            #expect(verification.unsealedEvents == 1)
            #expect(try await store.sealAll() == 1)
            let sealed = try await store.verify()
            #expect(sealed.isIntact && sealed.verifiedEvents == 9 && sealed.unsealedEvents == 0)
            #expect(sealed.headHash != verification.headHash)
        }
    }

    @Test func appendOnlyTriggersRefuseUpdateDeleteAndTruncate() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            try await AuditStore(pool: pool).sealAll()
            for sql in [
                "UPDATE audit_events SET action = 'nothing.happened' WHERE sequence = 1",
                "UPDATE audit_events SET sequence = NULL, hash = NULL WHERE sequence = 8",
                "DELETE FROM audit_events WHERE sequence = 2",
                "TRUNCATE audit_events",
            ] {
                do {
                    try await pool.withConnection { try $0.simpleQuery(sql) }
                    Issue.record("not refused: \(sql)")
                } catch let error as DatabaseError {
                    #expect(error.sqlState == .insufficientPrivilege, "\(sql)")
                }
            }
            #expect(try await Self.count(pool) == 8)
            #expect(try await AuditStore(pool: pool).verify().isIntact)
        }
    }

    @Test func anEventEditedInSQLIsTheFirstBrokenPosition() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            try await store.sealAll()
            let edited = try await Self.id(pool, atPosition: 5)
            try await Self.tamper(pool, "UPDATE audit_events SET actor_subject = 'someone-else' WHERE sequence = 5")
            let verification = try await store.verify()
            #expect(verification.firstBroken == .init(position: 5, eventID: edited, reason: .hashMismatch))
            #expect(verification.verifiedEvents == 4)
        }
    }

    @Test func anEventWithAForgedHashIsTheFirstBrokenPosition() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            try await store.sealAll()
            // Editing the summary and pasting a made-up hash in: the recomputed hash differs.
            try await Self.tamper(
                pool,
                """
                UPDATE audit_events SET summary = '{"changes": {}}'::jsonb,
                    hash = decode(repeat('ab', 32), 'hex') WHERE sequence = 3
                """
            )
            let verification = try await store.verify()
            #expect(verification.firstBroken?.position == 3)
            #expect(verification.firstBroken?.reason == .hashMismatch)
        }
    }

    @Test func aDeletedEventIsReportedMissing() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            try await store.sealAll()
            try await Self.tamper(pool, "DELETE FROM audit_events WHERE sequence = 4")
            let verification = try await store.verify()
            #expect(verification.firstBroken == .init(position: 4, eventID: nil, reason: .missing))
            #expect(verification.verifiedEvents == 3)
        }
    }

    @Test func deletingTheNewestEventsIsReported() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            try await store.sealAll()
            try await Self.tamper(pool, "DELETE FROM audit_events WHERE sequence >= 7")
            let verification = try await store.verify()
            #expect(verification.firstBroken == .init(position: 7, eventID: nil, reason: .missing))
        }
    }

    @Test func concurrentWritesAndSealersBuildOneValidChain() async throws {
        try await TestDatabase.withSchema(poolSize: 8) { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            let brands = BrandStore(pool: pool)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        _ = try await brands.create(
                            Brand(organization: "acme", slug: "brand-\(index)", name: "Brand \(index)"), audit: .test
                        )
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<10 {
                            try await store.seal(limit: 7)
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await store.sealAll()
            let verification = try await store.verify()
            #expect(verification.isIntact)
            #expect(verification.verifiedEvents == 48)
            #expect(verification.unsealedEvents == 0)
            let positions = try await pool.query("SELECT min(sequence) AS low, max(sequence) AS high FROM audit_events")
            #expect(try positions[0].decode(Int.self, "low") == 1)
            #expect(try positions[0].decode(Int.self, "high") == 48)
        }
    }

    @Test func listsFilterAndPage() async throws {
        try await TestDatabase.withSchema { pool, _ in
            try await Self.seed(pool)
            let store = AuditStore(pool: pool)
            let brandEvents = try await store.list(AuditQuery(targetType: "brand", limit: 2))
            #expect(brandEvents.items.map(\.action) == ["brand.delete", "brand.update"])
            let next = try await store.list(
                AuditQuery(targetType: "brand", before: brandEvents.nextAfter.flatMap(Int64.init), limit: 2)
            )
            #expect(next.items.map(\.action) == ["brand.create", "brand.create"])
            #expect(next.nextAfter == nil)
            #expect(try await store.list(AuditQuery(targetType: "brand", targetID: "outlet")).items.count == 2)
            #expect(try await store.list(AuditQuery(organization: "acme")).items.count == 6)
            #expect(try await store.list(AuditQuery(actor: "nobody")).items.isEmpty)
            #expect(try await store.list(AuditQuery(action: "plan.create")).items.count == 1)
            let future = Date().addingTimeInterval(3600)
            #expect(try await store.list(AuditQuery(since: future)).items.isEmpty)
            #expect(try await store.list(AuditQuery(since: Date().addingTimeInterval(-3600))).items.count == 8)
        }
    }

    @Test func aSlugReusedAfterDeletionDoesNotSeeTheEarlierOrganizationsEvents() async throws {
        try await TestDatabase.withSchema { pool, _ in
            _ = try await PlanStore(pool: pool).create(Plan(slug: "basic", name: "Basic"), audit: .test)
            let organizations = OrganizationStore(pool: pool)
            _ = try await organizations.create(Organization(slug: "acme", name: "First", plan: "basic"), audit: .test)
            try await organizations.delete("acme", condition: .none, audit: .test)
            _ = try await organizations.create(Organization(slug: "acme", name: "Second", plan: "basic"), audit: .test)
            let store = AuditStore(pool: pool)
            let own = try await store.list(AuditQuery(confinedTo: "acme"))
            #expect(own.items.map(\.action) == ["organization.create"])
            #expect(try await store.list(AuditQuery(organization: "acme")).items.count == 3)
        }
    }

    @Test func verifyCommandPassesThenReportsTheFirstBrokenEvent() async throws {
        try await TestDatabase.withSchema { pool, connectionString in
            try await Self.seed(pool)
            let sealed = try await ProvisionerProcess.run(["audit", "seal"], databaseURL: connectionString)
            #expect(sealed.status == 0)
            #expect(sealed.output.contains("sealed 8 audit events"))
            let intact = try await ProvisionerProcess.run(["audit", "verify"], databaseURL: connectionString)
            #expect(intact.status == 0, "\(intact.output)")
            #expect(intact.output.contains("audit chain intact: 8 sealed events"))

            let edited = try await Self.id(pool, atPosition: 6)
            try await Self.tamper(pool, "UPDATE audit_events SET target_id = 'elsewhere' WHERE sequence = 6")
            let broken = try await ProvisionerProcess.run(["audit", "verify"], databaseURL: connectionString)
            #expect(broken.status == 1)
            #expect(broken.output.contains("audit chain broken at position 6 (event \(edited))"), "\(broken.output)")

            try await Self.tamper(pool, "DELETE FROM audit_events WHERE sequence = 2")
            let deleted = try await ProvisionerProcess.run(["audit", "verify"], databaseURL: connectionString)
            #expect(deleted.status == 1)
            #expect(deleted.output.contains("audit chain broken at position 2:"), "\(deleted.output)")
        }
    }
}

/// Hex without the catalog's internals.
enum AuditChainHex {
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// Runs the built `provisioner` executable (beside the test bundle).
enum ProvisionerProcess {
    struct NotBuilt: Error, CustomStringConvertible {
        var description: String { "the provisioner executable is not built: run `swift build --build-tests` first" }
    }

    struct Result {
        var status: Int32
        var output: String
    }

    static var executable: URL {
        get throws {
            let candidates = [
                URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                    .appendingPathComponent("provisioner"),
                TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/provisioner"),
            ]
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw NotBuilt()
            }
            return found
        }
    }

    static func run(_ arguments: [String], databaseURL: String) async throws -> Result {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["PROVISIONER_LOG_LEVEL"] = "error"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
