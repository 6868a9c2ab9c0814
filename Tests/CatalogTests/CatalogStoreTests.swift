import Catalog
import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct CatalogStoreTests {
    @Test func idempotencyClaimsMoveFromAcquiredToReplay() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let store = IdempotencyStore(pool: pool)
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h1") == .acquired)
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h1") == .inFlight)
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h2") == .mismatch)
            let response = StoredResponse(status: 201, headers: [["Location", "/x"]], body: Array("{}".utf8))
            try await store.complete(principal: "p", key: "k", response: response)
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h1") == .replay(response))
            #expect(try await store.claim(principal: "other", key: "k", requestHash: "h2") == .acquired)
        }
    }

    @Test func abandonedInFlightClaimsAreTakenOverAfterTheirLease() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let store = IdempotencyStore(pool: pool, lease: .milliseconds(50))
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h") == .acquired)
            try await Task.sleep(for: .milliseconds(120))
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h") == .acquired)
        }
    }

    @Test func releasedKeysCanBeUsedAgain() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let store = IdempotencyStore(pool: pool)
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h") == .acquired)
            try await store.release(principal: "p", key: "k")
            #expect(try await store.claim(principal: "p", key: "k", requestHash: "h") == .acquired)
        }
    }

    @Test func updatesBumpTheVersionAndHonourConditions() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let plans = PlanStore(pool: pool)
            let created = try await plans.create(Plan(slug: "basic", name: "Basic"), audit: .test)
            #expect(created.version == 1)
            let updated = try await plans.update("basic", condition: .oneOf([1]), audit: .test) { $0.maxTenants = 9 }
            #expect(updated.version == 2 && updated.maxTenants == 9)
            await #expect(throws: CatalogError.preconditionFailed) {
                _ = try await plans.update("basic", condition: .oneOf([1]), audit: .test) { $0.maxTenants = 3 }
            }
            await #expect(throws: CatalogError.notFound) {
                _ = try await plans.update("missing", condition: .any, audit: .test) { $0.maxTenants = 3 }
            }
        }
    }

    @Test func duplicateSlugsAreAlreadyExists() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let regions = RegionStore(pool: pool)
            let region = Region(slug: "eu-west", name: "EU", baseDomain: "eu.example.net", gitopsPath: "clusters/eu-west", sharedStackCapacity: 10)
            _ = try await regions.create(region, audit: .test)
            await #expect(throws: CatalogError.alreadyExists(field: "slug")) {
                _ = try await regions.create(region, audit: .test)
            }
        }
    }

    @Test(arguments: [
        ("eu-west", true), ("a1", false), ("abc", true), ("1abc", false), ("abc-", false), ("Abc", false),
        ("a" + String(repeating: "b", count: 39), true), ("a" + String(repeating: "b", count: 40), false),
        ("ab_c", false), ("ab c", false),
    ])
    func slugPattern(text: String, valid: Bool) {
        #expect(NamePattern.isSlug(text) == valid)
    }

    @Test(arguments: [
        ("eu.example.net", true), ("example", false), ("-a.example.net", false), ("a..b", false),
        ("EU.example.net", false), ("shop.example.net`) || Host(`evil.com", false), ("a.b.123", false),
        (String(repeating: "a", count: 64) + ".net", false),
    ])
    func domainPattern(text: String, valid: Bool) {
        #expect(NamePattern.isDomainName(text) == valid)
    }
}

extension AuditContext {
    /// A platform admin acting from a test.
    static let test = AuditContext(
        actor: AuditActor(issuer: "https://idp.test", subject: "tester", organization: nil), requestID: "test-request"
    )
}
