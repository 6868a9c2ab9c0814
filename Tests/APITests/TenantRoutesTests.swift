import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct TenantRoutesTests {
    static let tenants = "/v1/organizations/acme/tenants"

    /// Organizations `acme` (plan `basic`: 5 tenants, 1 in production, shared only, sizes s and m,
    /// 4000 millicores) with brand `outlet`, and `other` with brand `other-brand`; region `eu-west`.
    static func seed(_ harness: TestHarness, _ client: some TestClientProtocol) async throws {
        try await client.seed(harness, org: "acme")
        let admin = harness.admin
        let setup: [(String, String)] = [
            ("/v1/organizations", #"{"slug":"other","name":"Other","plan":"basic"}"#),
            ("/v1/organizations/acme/brands", #"{"slug":"outlet","name":"Outlet","default_region":"eu-west"}"#),
            ("/v1/organizations/other/brands", #"{"slug":"other-brand","name":"Other","default_region":"eu-west"}"#),
        ]
        for (path, body) in setup {
            let response = try await client.call(.post, path, token: admin, json: body)
            try #require(response.status == .created, "seeding \(path): \(response.status)")
        }
    }

    static func body(
        _ slug: String, environment: String = "staging", placement: String = "shared", size: String = "s",
        version: String = "17.0", domains: [String]? = nil, brand: String = "outlet"
    ) -> String {
        var fields = [
            #""slug":"\#(slug)""#, #""brand":"\#(brand)""#, #""environment":"\#(environment)""#,
            #""placement":"\#(placement)""#, #""size":"\#(size)""#, #""odoo_version":"\#(version)""#,
        ]
        if let domains { fields.append(#""custom_domains":[\#(domains.map { "\"\($0)\"" }.joined(separator: ","))]"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Creates a tenant of `acme` (or `org`) and returns the job of the answer.
    @discardableResult
    static func create(
        _ client: some TestClientProtocol, _ harness: TestHarness, _ body: String, org: String = "acme"
    ) async throws -> [String: JSONValue] {
        let response = try await client.call(.post, "/v1/organizations/\(org)/tenants", token: harness.admin, json: body)
        try #require(response.status == .accepted, "create: \(response.status) \(response.text)")
        return response.object
    }

    static func count(_ harness: TestHarness, _ sql: String) async throws -> Int {
        try #require(try await harness.pool.query(sql).first).decode(Int.self, "n")
    }

    static func setStatus(_ harness: TestHarness, _ slug: String, _ status: String, error: String? = nil) async throws {
        _ = try await harness.pool.query(
            "UPDATE tenants SET status = $2, error = $3 WHERE slug = $1 AND status <> 'deleted'", [slug, status, error]
        )
    }

    @Test func createAnswersTheProvisioningJobAndRecordsTheIntent() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let created = try await client.call(
                .post, Self.tenants, token: harness.admin, json: Self.body("shop", domains: ["shop.example.com"]),
                headers: ["X-Request-ID": "req-create-1"]
            )
            #expect(created.status == .accepted)
            let id = try #require(created.object["id"]?.stringValue)
            #expect(created.headers[.location] == "/v1/jobs/\(id)")
            #expect(created.object["kind"] == "tenant.provision")
            #expect(created.object["state"] == "queued")
            #expect(created.object["organization"] == "acme")
            #expect(created.object["tenant"] == "shop")

            let tenant = try await client.call(.get, "\(Self.tenants)/shop", token: harness.admin)
            #expect(tenant.status == .ok)
            #expect(tenant.headers[.eTag] != nil)
            #expect(tenant.object["status"] == "pending")
            #expect(tenant.object["last_job"] == .string(id))
            #expect(tenant.object["region"] == "eu-west")
            #expect(tenant.object["custom_domains"] == .array(["shop.example.com"]))
            #expect(tenant.object["hostnames"] == .array(["shop.acme.eu.example.net", "shop.example.com"]))
            #expect(tenant.object["error"] == .null)
            #expect(tenant.object["suspended"] == .bool(false))
            let stack = try #require(tenant.object["stack"]?.stringValue)
            #expect(created.object["stack"] == .string(stack))
            #expect(tenant.object["database"]?.stringValue?.hasPrefix("t_") == true)
            #expect(!tenant.text.lowercased().contains("password"))
            let tenantID = try #require(
                try await harness.pool.query("SELECT id FROM tenants WHERE slug = 'shop'").first
            ).decode(UUID.self, "id").uuidString.lowercased()

            let job = try #require(
                try await harness.pool.query(
                    """
                    SELECT payload::text AS payload, concurrency_key, queue, created_by, request_id, stack
                    FROM jobs WHERE id = $1::uuid
                    """,
                    [id]
                ).first
            )
            let payload = try JSONCoding.decode(Array(try job.decode(String.self, "payload").utf8))
            #expect(payload == .object(["tenant": .string(tenantID)]))
            #expect(try job.decode(String.self, "concurrency_key") == "tenant:\(tenantID)")
            #expect(try job.decode(String.self, "queue") == "default")
            #expect(try job.decode(String.self, "created_by") == "user-platform-admin")
            #expect(try job.decode(String.self, "request_id") == "req-create-1")
            #expect(try job.decode(String.self, "stack") == stack)

            let read = try await client.call(.get, "/v1/jobs/\(id)", token: harness.admin)
            #expect(read.json == created.json)
            let audited = try await Self.count(
                harness, "SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.create' AND target_id = 'shop'"
            )
            #expect(audited == 1)
        }
    }

    @Test func refusedCreatesLeaveNoJobAndNoTenant() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("prod-one", environment: "production", domains: ["a.example.com"]))
            let refusals: [(String, HTTPResponse.Status, String)] = [
                (Self.body("prod-two", environment: "production"), .conflict, "quota_exceeded"),
                (Self.body("big", size: "l"), .conflict, "quota_exceeded"),
                (Self.body("dedicated", placement: "dedicated"), .conflict, "quota_exceeded"),
                (Self.body("clash", domains: ["a.example.com"]), .conflict, "domain_taken"),
                (Self.body("prod-one"), .conflict, "already_exists"),
                (Self.body("nobrand", brand: "missing"), .unprocessableContent, "validation_failed"),
                (Self.body("provider", domains: ["x.eu.example.net"]), .unprocessableContent, "validation_failed"),
            ]
            for (body, status, code) in refusals {
                let response = try await client.call(.post, Self.tenants, token: harness.admin, json: body)
                #expect(response.status == status, "\(body): \(response.text)")
                #expect(response.object["code"] == .string(code), "\(body)")
            }
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs") == 1)
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM tenants") == 1)

            let invalid = try await client.call(
                .post, Self.tenants, token: harness.admin,
                json: #"{"slug":"X","brand":"outlet","environment":"prod","placement":"shared","size":"xxl","odoo_version":"17.0","#
                    + #""status":"active","color":"red"}"#
            )
            #expect(invalid.status == .unprocessableContent)
            let fields = Set((invalid.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue })
            #expect(fields == ["slug", "environment", "size", "status", "color"])
            let malformed = try await client.call(.post, Self.tenants, token: harness.admin, json: #"{"slug":"#)
            #expect(malformed.status == .badRequest)
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs") == 1)
        }
    }

    @Test func replayedCreateAnswersTheSameJob() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let key = ["Idempotency-Key": "create-shop-1"]
            let first = try await client.call(.post, Self.tenants, token: harness.admin, json: Self.body("shop"), headers: key)
            #expect(first.status == .accepted)
            let second = try await client.call(.post, Self.tenants, token: harness.admin, json: Self.body("shop"), headers: key)
            #expect(second.status == .accepted)
            #expect(second.headers[.idempotentReplayed] == "true")
            #expect(second.object["id"] == first.object["id"])
            #expect(second.headers[.location] == first.headers[.location])
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs") == 1)
            let reused = try await client.call(.post, Self.tenants, token: harness.admin, json: Self.body("shop2"), headers: key)
            #expect(reused.status == .unprocessableContent)
            #expect(reused.object["code"] == "idempotency_key_reused")
        }
    }

    @Test func listPagesAndFiltersAndGetCarriesTheETag() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            for slug in ["alpha", "bravo", "charlie"] {
                try await Self.create(client, harness, Self.body(slug, environment: slug == "bravo" ? "test" : "staging"))
            }
            let first = try await client.call(.get, "\(Self.tenants)?limit=2", token: harness.admin)
            #expect(first.status == .ok)
            let slugs = (first.object["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["slug"]?.stringValue }
            #expect(slugs == ["alpha", "bravo"])
            let cursor = try #require(first.object["next_cursor"]?.stringValue)
            let second = try await client.call(.get, "\(Self.tenants)?limit=2&cursor=\(cursor)", token: harness.admin)
            #expect(second.object["items"]?.arrayValue?.count == 1)
            #expect(second.object["next_cursor"] == .null)

            let filtered = try await client.call(.get, "\(Self.tenants)?environment=test&status=pending", token: harness.admin)
            #expect(filtered.object["items"]?.arrayValue?.compactMap { $0.objectValue?["slug"]?.stringValue } == ["bravo"])
            let bad = try await client.call(.get, "\(Self.tenants)?status=asleep&cursor=zzz", token: harness.admin)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.object["errors"]?.arrayValue?.count == 2)

            let viewer = try harness.token("org-viewer", org: "acme")
            let read = try await client.call(.get, "\(Self.tenants)/alpha", token: viewer)
            #expect(read.status == .ok)
            #expect(read.headers[.eTag] == "\"1\"")
            #expect(try await client.call(.get, "\(Self.tenants)/missing", token: viewer).status == .notFound)
        }
    }

    @Test func patchResizesWithinThePlanAndEnqueuesAnUpdate() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("alpha"))
            try await Self.create(client, harness, Self.body("bravo"))
            let operatorToken = try harness.token("org-operator", org: "acme")
            let before = try await client.call(.get, "\(Self.tenants)/alpha", token: operatorToken)

            let resized = try await client.call(.patch, "\(Self.tenants)/alpha", token: operatorToken, json: #"{"size":"m"}"#)
            #expect(resized.status == .ok)
            #expect(resized.object["size"] == "m")
            #expect(resized.object["status"] == "pending")
            #expect(resized.headers[.eTag] != before.headers[.eTag])
            let job = try #require(resized.object["last_job"]?.stringValue)
            #expect(job != before.object["last_job"]?.stringValue)
            let kind = try await client.call(.get, "/v1/jobs/\(job)", token: operatorToken)
            #expect(kind.object["kind"] == "tenant.update")

            // 2000 + 500 + 500 = 3000 of 4000 millicores; bravo at m would need 4500.
            try await Self.create(client, harness, Self.body("charlie"))
            let jobs = try await Self.count(harness, "SELECT count(*) AS n FROM jobs")
            let refused = try await client.call(.patch, "\(Self.tenants)/bravo", token: operatorToken, json: #"{"size":"m"}"#)
            #expect(refused.status == .conflict)
            #expect(refused.object["code"] == "quota_exceeded")
            #expect(refused.object["detail"]?.stringValue?.contains("max_cpu_millicores") == true)
            // The refused quota, its limit and its use, as members callers can read.
            #expect(refused.object["quota"] == "max_cpu_millicores")
            #expect(refused.object["limit"] == 4000)
            #expect(refused.object["used"] == 3000)
            let notAllowed = try await client.call(.patch, "\(Self.tenants)/bravo", token: operatorToken, json: #"{"size":"l"}"#)
            #expect(notAllowed.status == .conflict)
            #expect(notAllowed.object["code"] == "quota_exceeded")
            #expect(notAllowed.object["quota"] == "allowed_sizes")
            #expect(notAllowed.object["requested"] == "l")
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs") == jobs)
            let unchanged = try await client.call(.get, "\(Self.tenants)/bravo", token: operatorToken)
            #expect(unchanged.object["size"] == "s")

            // Shrinking frees room; a no-op or empty patch answers the tenant without a job.
            let shrunk = try await client.call(.patch, "\(Self.tenants)/alpha", token: operatorToken, json: #"{"size":"s"}"#)
            #expect(shrunk.status == .ok)
            let grown = try await client.call(.patch, "\(Self.tenants)/bravo", token: operatorToken, json: #"{"size":"m"}"#)
            #expect(grown.status == .ok)
            let jobsAfter = try await Self.count(harness, "SELECT count(*) AS n FROM jobs")
            for patch in [#"{"size":"m"}"#, "{}", #"{"custom_domains":[]}"#] {
                let noop = try await client.call(.patch, "\(Self.tenants)/bravo", token: operatorToken, json: patch)
                #expect(noop.status == .ok)
                #expect(noop.headers[.eTag] == grown.headers[.eTag])
                #expect(noop.object["last_job"] == grown.object["last_job"])
            }
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs") == jobsAfter)
            let audited = try await Self.count(
                harness, "SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.update' AND target_id = 'bravo'"
            )
            #expect(audited == 1)
        }
    }

    @Test func patchRefusesReadOnlyFieldsStaleTagsAndDowngrades() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let admin = harness.admin
            try await client.call(
                .post, "/v1/plans", token: admin,
                json: #"{"slug":"pro","name":"Pro","max_dedicated_stacks":2,"allowed_placements":["shared","dedicated"]}"#
            )
            try await client.call(.patch, "/v1/organizations/acme", token: admin, json: #"{"plan":"pro"}"#)
            try await Self.create(client, harness, Self.body("shop"))
            try await Self.create(client, harness, Self.body("solo", placement: "dedicated", version: "16.0"))
            let path = "\(Self.tenants)/shop"

            let readOnly = try await client.call(
                .patch, path, token: admin, json: #"{"status":"active","slug":"x","region":"eu-west","colour":"red"}"#
            )
            #expect(readOnly.status == .unprocessableContent)
            let fields = Set((readOnly.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue })
            #expect(fields == ["status", "slug", "region", "colour"])

            let stale = try await client.call(.patch, path, token: admin, json: #"{"size":"m"}"#, headers: ["If-Match": #""99""#])
            #expect(stale.status == .preconditionFailed)
            let current = try #require(try await client.call(.get, path, token: admin).headers[.eTag])
            let matched = try await client.call(.patch, path, token: admin, json: #"{"size":"m"}"#, headers: ["If-Match": current])
            #expect(matched.status == .ok)

            let sharedUpgrade = try await client.call(.patch, path, token: admin, json: #"{"odoo_version":"18.0"}"#)
            #expect(sharedUpgrade.status == .unprocessableContent)
            #expect(sharedUpgrade.object["errors"]?.arrayValue?.first?.objectValue?["field"] == "odoo_version")

            let upgraded = try await client.call(.patch, "\(Self.tenants)/solo", token: admin, json: #"{"odoo_version":"17.0"}"#)
            #expect(upgraded.status == .ok)
            #expect(upgraded.object["odoo_version"] == "17.0")
            let downgrade = try await client.call(.patch, "\(Self.tenants)/solo", token: admin, json: #"{"odoo_version":"16.0"}"#)
            #expect(downgrade.status == .unprocessableContent)
        }
    }

    @Test func patchReplacesCustomDomainsUniqueAcrossOrganizations() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("shop"))
            try await Self.create(client, harness, Self.body("theirs", brand: "other-brand"), org: "other")
            let admin = harness.admin
            let set = try await client.call(
                .patch, "\(Self.tenants)/shop", token: admin, json: #"{"custom_domains":["shop.example.com","b.example.com"]}"#
            )
            #expect(set.status == .ok)
            #expect(set.object["custom_domains"] == .array(["b.example.com", "shop.example.com"]))
            #expect(set.object["hostnames"]?.arrayValue?.count == 3)

            let taken = try await client.call(
                .patch, "/v1/organizations/other/tenants/theirs", token: admin, json: #"{"custom_domains":["shop.example.com"]}"#
            )
            #expect(taken.status == .conflict)
            #expect(taken.object["code"] == "domain_taken")
            let provider = try await client.call(
                .patch, "\(Self.tenants)/shop", token: admin, json: #"{"custom_domains":["x.eu.example.net"]}"#
            )
            #expect(provider.status == .unprocessableContent)

            let cleared = try await client.call(.patch, "\(Self.tenants)/shop", token: admin, json: #"{"custom_domains":null}"#)
            #expect(cleared.status == .ok)
            #expect(cleared.object["custom_domains"] == .array([]))
            let free = try await client.call(
                .patch, "/v1/organizations/other/tenants/theirs", token: admin, json: #"{"custom_domains":["shop.example.com"]}"#
            )
            #expect(free.status == .ok)
        }
    }

    @Test func deleteMovesTheTenantToDeletingWithItsJob() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("shop"))
            let operatorToken = try harness.token("org-operator", org: "acme")
            let path = "\(Self.tenants)/shop"

            let stale = try await client.call(.delete, path, token: operatorToken, headers: ["If-Match": #""42""#])
            #expect(stale.status == .preconditionFailed)
            let deleted = try await client.call(.delete, path, token: operatorToken)
            #expect(deleted.status == .accepted)
            #expect(deleted.object["kind"] == "tenant.delete")
            let job = try #require(deleted.object["id"]?.stringValue)
            #expect(deleted.headers[.location] == "/v1/jobs/\(job)")

            let tenant = try await client.call(.get, path, token: operatorToken)
            #expect(tenant.object["status"] == "deleting")
            #expect(tenant.object["last_job"] == .string(job))

            // Deleting again answers the same job; changes and actions are refused.
            let again = try await client.call(.delete, path, token: operatorToken)
            #expect(again.status == .accepted)
            #expect(again.object["id"] == .string(job))
            let patch = try await client.call(.patch, path, token: operatorToken, json: #"{"size":"m"}"#)
            #expect(patch.status == .conflict)
            #expect(patch.object["code"] == "tenant_deleting")
            let suspend = try await client.call(.post, "\(path)/suspend", token: operatorToken)
            #expect(suspend.object["code"] == "tenant_deleting")
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM jobs WHERE kind = 'tenant.delete'") == 1)
            let audited = try await Self.count(
                harness, "SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.delete' AND target_id = 'shop'"
            )
            #expect(audited == 1)
        }
    }

    @Test func suspendResumeAndRetryFromFailed() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("shop"))
            let operatorToken = try harness.token("org-operator", org: "acme")
            let path = "\(Self.tenants)/shop"

            let early = try await client.call(.post, "\(path)/suspend", token: operatorToken)
            #expect(early.status == .conflict)
            #expect(early.object["code"] == "invalid_state")
            #expect(try await client.call(.post, "\(path)/resume", token: operatorToken).status == .conflict)

            try await Self.setStatus(harness, "shop", "active")
            let key = ["Idempotency-Key": "suspend-shop"]
            let suspended = try await client.call(.post, "\(path)/suspend", token: operatorToken, headers: key)
            #expect(suspended.status == .accepted)
            #expect(suspended.object["kind"] == "tenant.suspend")
            let replay = try await client.call(.post, "\(path)/suspend", token: operatorToken, headers: key)
            #expect(replay.status == .accepted)
            #expect(replay.object["id"] == suspended.object["id"])
            let intent = try await client.call(.get, path, token: operatorToken)
            #expect(intent.object["status"] == "active")
            #expect(intent.object["suspended"] == .bool(true))
            #expect(intent.object["last_job"] == suspended.object["id"])
            #expect(try await client.call(.post, "\(path)/suspend", token: operatorToken).status == .conflict)

            let resumed = try await client.call(.post, "\(path)/resume", token: operatorToken, json: "{}")
            #expect(resumed.status == .accepted)
            #expect(resumed.object["kind"] == "tenant.resume")
            let back = try await client.call(.get, path, token: operatorToken)
            #expect(back.object["suspended"] == .bool(false))
            #expect(back.object["last_job"] == resumed.object["id"])
            #expect(try await client.call(.post, "\(path)/resume", token: operatorToken).status == .conflict)

            try await Self.setStatus(harness, "shop", "failed", error: "database server unreachable")
            let failed = try await client.call(.get, path, token: operatorToken)
            #expect(failed.object["error"] == "database server unreachable")
            let retried = try await client.call(.post, "\(path)/resume", token: operatorToken)
            #expect(retried.status == .accepted)
            #expect(retried.object["kind"] == "tenant.provision")
            let retrying = try await client.call(.get, path, token: operatorToken)
            #expect(retrying.object["status"] == "failed")
            #expect(retrying.object["last_job"] == retried.object["id"])

            let withFields = try await client.call(.post, "\(path)/resume", token: operatorToken, json: #"{"force":true}"#)
            #expect(withFields.status == .unprocessableContent)
            let actions = try await Self.count(
                harness,
                "SELECT count(*) AS n FROM audit_events WHERE action IN ('tenant.suspend', 'tenant.resume', 'tenant.retry')"
            )
            #expect(actions == 3)
            // A refusal is audited too.
            let viewer = try harness.token("org-viewer", org: "acme")
            #expect(try await client.call(.post, "\(path)/suspend", token: viewer).status == .forbidden)
            let denied = try await Self.count(
                harness, "SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.suspend' AND actor_subject = 'user-org-viewer'"
            )
            #expect(denied == 1)
        }
    }

    @Test func usageShowsThePlanLimitsAndWhatIsUsed() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("alpha"))
            try await Self.create(client, harness, Self.body("bravo", environment: "production", size: "m"))
            let viewer = try harness.token("org-viewer", org: "acme")
            let usage = try await client.call(.get, "/v1/organizations/acme/usage", token: viewer)
            #expect(usage.status == .ok)
            #expect(usage.object["plan"] == "basic")
            #expect(usage.object["allowed_sizes"] == .array(["s", "m"]))
            #expect(usage.object["allowed_placements"] == .array(["shared"]))
            #expect(usage.object["allowed_regions"] == .array([]))
            var quotas: [String: (limit: Double, used: Double)] = [:]
            for entry in usage.object["quotas"]?.arrayValue ?? [] {
                guard let object = entry.objectValue, let name = object["quota"]?.stringValue,
                    case .number(let limit)? = object["limit"], case .number(let used)? = object["used"]
                else { continue }
                quotas[name] = (limit, used)
            }
            #expect(quotas["max_tenants"]?.limit == 5 && quotas["max_tenants"]?.used == 2)
            #expect(quotas["max_production_tenants"]?.used == 1)
            #expect(quotas["max_cpu_millicores"]?.limit == 4000 && quotas["max_cpu_millicores"]?.used == 2500)
            #expect(quotas["max_dedicated_stacks"]?.used == 0)
            #expect(quotas.count == 6)

            let stranger = try harness.token("org-admin", org: "other")
            #expect(try await client.call(.get, "/v1/organizations/acme/usage", token: stranger).status == .notFound)
            #expect(try await client.call(.get, "/v1/organizations/missing/usage", token: harness.admin).status == .notFound)
        }
    }

    @Test func otherOrganizationsTenantsAreNotFoundBeforeAnyForbidden() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            try await Self.create(client, harness, Self.body("shop"))
            let path = "\(Self.tenants)/shop"
            for role in ["org-admin", "org-operator", "org-viewer", "auditor"] {
                let stranger = try harness.token(role, org: "other")
                #expect(try await client.call(.get, path, token: stranger).status == .notFound, "\(role)")
                #expect(try await client.call(.get, Self.tenants, token: stranger).status == .notFound, "\(role)")
                #expect(
                    try await client.call(.patch, path, token: stranger, json: #"{"size":"m"}"#).status == .notFound, "\(role)"
                )
                #expect(try await client.call(.delete, path, token: stranger).status == .notFound, "\(role)")
                #expect(try await client.call(.post, "\(path)/suspend", token: stranger).status == .notFound, "\(role)")
                #expect(
                    try await client.call(.post, Self.tenants, token: stranger, json: Self.body("intruder")).status
                        == .notFound,
                    "\(role)"
                )
            }
            let viewer = try harness.token("org-viewer", org: "acme")
            #expect(try await client.call(.post, Self.tenants, token: viewer, json: Self.body("nope")).status == .forbidden)
            #expect(try await client.call(.delete, path, token: viewer).status == .forbidden)
            let staff = try harness.token("platform-operator")
            #expect(try await client.call(.get, path, token: staff).status == .ok)
            let byOperator = try await client.call(.post, Self.tenants, token: staff, json: Self.body("staffed"))
            #expect(byOperator.status == .accepted)
            #expect(try await Self.count(harness, "SELECT count(*) AS n FROM tenants") == 2)
        }
    }

    @Test func tenantConfinedTokenSeesAndActsOnlyOnItsTenants() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            for slug in ["shop", "depot"] { try await Self.create(client, harness, Self.body(slug)) }
            let confined = try harness.token("org-operator", org: "acme") { claims in
                claims["tenants"] = .array(["shop", "kiosk"])
            }
            let list = try await client.call(.get, Self.tenants, token: confined)
            #expect(list.object["items"]?.arrayValue?.compactMap { $0.objectValue?["slug"]?.stringValue } == ["shop"])
            #expect(try await client.call(.get, "\(Self.tenants)/shop", token: confined).status == .ok)
            #expect(try await client.call(.get, "\(Self.tenants)/depot", token: confined).status == .notFound)
            #expect(try await client.call(.delete, "\(Self.tenants)/depot", token: confined).status == .notFound)
            #expect(try await client.call(.post, "\(Self.tenants)/depot/resume", token: confined).status == .notFound)
            let outside = try await client.call(.post, Self.tenants, token: confined, json: Self.body("elsewhere"))
            #expect(outside.status == .forbidden)
            let named = try await client.call(.post, Self.tenants, token: confined, json: Self.body("kiosk"))
            #expect(named.status == .accepted)
        }
    }
}
