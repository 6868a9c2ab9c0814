import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct ResourceTests {
    @Test func regionPlanOrganizationAndBrandAreCreatedAndReadBack() async throws {
        try await TestHarness.run { harness, client in
            let admin = try harness.token("platform-admin")
            let region = try await client.call(
                .post, "/v1/regions", token: admin,
                json: #"{"slug":"eu-west","name":"Europe West","base_domain":"eu.example.net","shared_stack_capacity":20}"#
            )
            #expect(region.status == .created)
            #expect(region.headers[.location] == "/v1/regions/eu-west")
            #expect(region.headers[.eTag] != nil)
            #expect(region.object["gitops_path"] == "clusters/eu-west")
            #expect(region.object["shared_stack_capacity"] == .number(20))

            let plan = try await client.call(
                .post, "/v1/plans", token: admin,
                json: #"{"slug":"retail-pro","name":"Retail Pro","max_tenants":10,"allowed_sizes":["s","m","l"],"allowed_regions":["eu-west"]}"#
            )
            #expect(plan.status == .created)
            #expect(plan.object["allowed_regions"] == .array(["eu-west"]))
            #expect(plan.object["max_production_tenants"] == .number(1))

            let org = try await client.call(
                .post, "/v1/organizations", token: admin, json: #"{"slug":"acme-retail","name":"Acme","plan":"retail-pro"}"#
            )
            #expect(org.status == .created)

            let brand = try await client.call(
                .post, "/v1/organizations/acme-retail/brands", token: admin,
                json: #"{"slug":"acme-outlet","name":"Acme Outlet","default_region":"eu-west"}"#
            )
            #expect(brand.status == .created)
            #expect(brand.object["organization"] == "acme-retail")

            let readBrand = try await client.call(.get, "/v1/organizations/acme-retail/brands/acme-outlet", token: admin)
            #expect(readBrand.status == .ok)
            #expect(readBrand.object["default_region"] == "eu-west")
            #expect(readBrand.headers[.eTag] == brand.headers[.eTag])

            let readOrg = try await client.call(.get, "/v1/organizations/acme-retail", token: admin)
            #expect(readOrg.object["plan"] == "retail-pro")
            let timestamp = try #require(readOrg.object["created_at"]?.stringValue)
            #expect(timestamp.hasSuffix("Z") && timestamp.contains("T"))
        }
    }

    @Test func sharedPostgresURLIsWriteOnlyAndStoredSealed() async throws {
        try await TestHarness.run { harness, client in
            let admin = try harness.token("platform-admin")
            let secret = "postgresql://admin:s3cret-pass@db.internal:5432/postgres"
            let created = try await client.call(
                .post, "/v1/regions", token: admin,
                json: #"{"slug":"us-east","name":"US East","base_domain":"us.example.net","shared_postgres_url":"\#(secret)"}"#
            )
            #expect(created.status == .created)
            #expect(created.object["shared_postgres_configured"] == .bool(true))
            #expect(!created.text.contains("s3cret"))
            #expect(created.object["shared_postgres_url"] == nil)

            let stored = try await harness.pool.query(
                "SELECT encode(shared_postgres_url_sealed, 'escape') AS sealed FROM regions WHERE slug = 'us-east'"
            )
            let sealed = try #require(stored.first).decode(String.self, "sealed")
            #expect(!sealed.contains("s3cret"))

            let cleared = try await client.call(
                .patch, "/v1/regions/us-east", token: admin, json: #"{"shared_postgres_url":null}"#
            )
            #expect(cleared.status == .ok)
            #expect(cleared.object["shared_postgres_configured"] == .bool(false))
        }
    }

    @Test func listsPageWithCursors() async throws {
        try await TestHarness.run { harness, client in
            let admin = try harness.token("platform-admin")
            for index in 0..<5 {
                try await client.call(.post, "/v1/plans", token: admin, json: #"{"slug":"plan-\#(index)","name":"P"}"#)
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/v1/plans?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.call(.get, uri, token: admin)
                #expect(page.status == .ok)
                let items = try #require(page.object["items"]?.arrayValue)
                #expect(items.count <= 2)
                seen += items.compactMap { $0.objectValue?["slug"]?.stringValue }
                cursor = page.object["next_cursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == ["plan-0", "plan-1", "plan-2", "plan-3", "plan-4"])
            #expect(pages == 3)

            let tooLarge = try await client.call(.get, "/v1/plans?limit=201", token: admin)
            #expect(tooLarge.status == .unprocessableContent)
            let badCursor = try await client.call(.get, "/v1/plans?cursor=%21%21", token: admin)
            #expect(badCursor.status == .unprocessableContent)
        }
    }

    @Test func ifMatchGuardsPatchAndDelete() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "acme")
            let admin = try harness.token("platform-admin")
            let first = try await client.call(.get, "/v1/organizations/acme", token: admin)
            let tag = try #require(first.headers[.eTag])

            let patched = try await client.call(
                .patch, "/v1/organizations/acme", token: admin, json: #"{"name":"Acme Group"}"#,
                headers: ["If-Match": tag]
            )
            #expect(patched.status == .ok)
            #expect(patched.object["name"] == "Acme Group")
            let newTag = try #require(patched.headers[.eTag])
            #expect(newTag != tag)

            let stale = try await client.call(
                .patch, "/v1/organizations/acme", token: admin, json: #"{"name":"Stale"}"#, headers: ["If-Match": tag]
            )
            #expect(stale.status == .preconditionFailed)
            #expect(stale.object["code"] == "precondition_failed")

            let staleDelete = try await client.call(.delete, "/v1/organizations/acme", token: admin, headers: ["If-Match": tag])
            #expect(staleDelete.status == .preconditionFailed)
            let still = try await client.call(.get, "/v1/organizations/acme", token: admin)
            #expect(still.object["name"] == "Acme Group")

            let deleted = try await client.call(.delete, "/v1/organizations/acme", token: admin, headers: ["If-Match": newTag])
            #expect(deleted.status == .noContent)
            let gone = try await client.call(.get, "/v1/organizations/acme", token: admin)
            #expect(gone.status == .notFound)
        }
    }

    @Test func mergePatchChangesOnlyNamedFieldsAndRefusesReadOnlyOnes() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "acme")
            let admin = try harness.token("platform-admin")
            let patched = try await client.call(.patch, "/v1/plans/basic", token: admin, json: #"{"max_tenants":40}"#)
            #expect(patched.status == .ok)
            #expect(patched.object["max_tenants"] == .number(40))
            #expect(patched.object["name"] == "Basic")

            let readOnly = try await client.call(.patch, "/v1/plans/basic", token: admin, json: #"{"slug":"other"}"#)
            #expect(readOnly.status == .unprocessableContent)
            let rule = try await client.call(
                .patch, "/v1/plans/basic", token: admin, json: #"{"max_production_tenants":41}"#
            )
            #expect(rule.status == .unprocessableContent)
            let unchanged = try await client.call(.get, "/v1/plans/basic", token: admin)
            #expect(unchanged.object["max_production_tenants"] == .number(1))
        }
    }

    @Test func deletingARegionInUseIsRefused() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "acme")
            let admin = try harness.token("platform-admin")
            try await client.call(
                .post, "/v1/organizations/acme/brands", token: admin,
                json: #"{"slug":"outlet","name":"Outlet","default_region":"eu-west"}"#
            )
            let refused = try await client.call(.delete, "/v1/regions/eu-west", token: admin)
            #expect(refused.status == .conflict)
            #expect(refused.object["code"] == "has_dependents")
            let still = try await client.call(.get, "/v1/regions/eu-west", token: admin)
            #expect(still.status == .ok)
        }
    }

    @Test func unknownReferencesAreFieldErrors() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "acme")
            let admin = try harness.token("platform-admin")
            let org = try await client.call(
                .post, "/v1/organizations", token: admin, json: #"{"slug":"other-org","name":"O","plan":"no-such-plan"}"#
            )
            #expect(org.status == .unprocessableContent)
            #expect(org.object["errors"]?.arrayValue?.first?.objectValue?["field"] == "plan")
            let brand = try await client.call(
                .post, "/v1/organizations/acme/brands", token: admin,
                json: #"{"slug":"outlet","name":"Outlet","default_region":"nowhere"}"#
            )
            #expect(brand.status == .unprocessableContent)
            let missingOrg = try await client.call(
                .post, "/v1/organizations/nobody/brands", token: admin, json: #"{"slug":"outlet","name":"Outlet"}"#
            )
            #expect(missingOrg.status == .notFound)
        }
    }
}
