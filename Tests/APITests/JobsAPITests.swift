import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Jobs
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct JobsAPITests {
    /// Organizations `acme` and `other` on a fresh catalog.
    static func seed(_ harness: TestHarness, _ client: some TestClientProtocol) async throws {
        try await client.seed(harness, org: "acme")
        let other = try await client.call(
            .post, "/v1/organizations", token: harness.admin, json: #"{"slug":"other","name":"Other","plan":"basic"}"#
        )
        try #require(other.status == .created)
    }

    /// Enqueues one job and returns its id (lowercased, as the API writes it).
    static func enqueue(
        _ harness: TestHarness, kind: String = "tenant.provision", queue: String = "default",
        organization: String? = "acme", tenant: String? = nil, payload: JSONValue = [:]
    ) async throws -> String {
        let ids = try await JobQueue(pool: harness.pool).enqueue([
            JobRequest(kind: kind, payload: payload, queue: queue, organization: organization, tenant: tenant, stack: "stack-1")
        ])
        return try #require(ids.first).uuidString.lowercased()
    }

    static func claim(_ harness: TestHarness, queue: String) async throws -> ClaimedJob {
        let claimed = try await JobQueue(pool: harness.pool).claim(
            queue: queue, limit: 1, lease: .seconds(60), workerID: "worker-1"
        )
        return try #require(claimed.first)
    }

    static func ids(_ response: TestResponse) -> [String] {
        (response.object["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["id"]?.stringValue }
    }

    @Test func ownJobIsReadWithItsProgressAndNeverItsPayload() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let id = try await Self.enqueue(
                harness, queue: "work", tenant: "shop", payload: ["password_ref": "secret/acme/db-password"]
            )
            let viewer = try harness.token("org-viewer", org: "acme")
            let first = try await client.call(.get, "/v1/jobs/\(id)", token: viewer)
            #expect(first.status == .ok)
            #expect(first.object["id"] == .string(id))
            #expect(first.object["state"] == "queued")
            #expect(first.object["attempts"] == .number(0))
            #expect(first.object["max_attempts"] == .number(5))
            #expect(first.object["organization"] == "acme")
            #expect(first.object["tenant"] == "shop")
            #expect(first.object["stack"] == "stack-1")
            #expect(first.object["error"] == .null)
            #expect(first.object["started_at"] == .null)
            #expect(first.object["progress"] == .array([]))
            for hidden in ["payload", "worker_id", "fence", "queue", "lease_expires_at", "concurrency_key"] {
                #expect(first.object[hidden] == nil, "\(hidden) is shown")
            }
            #expect(!first.text.contains("secret/acme"))
            let firstTag = try #require(first.headers[.eTag])

            let queue = JobQueue(pool: harness.pool)
            let claimed = try await Self.claim(harness, queue: "work")
            try await queue.recordStep(claimed, "database.created")
            let second = try await client.call(.get, "/v1/jobs/\(id)", token: viewer)
            #expect(second.object["state"] == "running")
            #expect(second.object["attempts"] == .number(1))
            let steps = try #require(second.object["progress"]?.arrayValue)
            #expect(steps.count == 1)
            #expect(steps.first?.objectValue?["name"] == "database.created")
            let at = try #require(steps.first?.objectValue?["at"]?.stringValue)
            #expect(Timestamp.parse(at) != nil && at.hasSuffix("Z") && at.count == 24)
            #expect(second.object["started_at"]?.stringValue != nil)
            #expect(try #require(second.headers[.eTag]) != firstTag)

            try await queue.fail(claimed, error: "pg: connection refused", retryAfter: .seconds(60))
            let third = try await client.call(.get, "/v1/jobs/\(id)", token: viewer)
            #expect(third.object["state"] == "failed")
            #expect(third.object["error"] == "pg: connection refused")
        }
    }

    @Test func otherOrganizationsAndProviderJobsAreNotFoundForOrganizationPrincipals() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let own = try await Self.enqueue(harness)
            let foreign = try await Self.enqueue(harness, organization: "other")
            let provider = try await Self.enqueue(harness, kind: "stack.render", organization: nil)
            let viewer = try harness.token("org-viewer", org: "acme")

            #expect(try await client.call(.get, "/v1/jobs/\(own)", token: viewer).status == .ok)
            for id in [foreign, provider, UUID().uuidString.lowercased(), "not-a-uuid"] {
                let response = try await client.call(.get, "/v1/jobs/\(id)", token: viewer)
                #expect(response.status == .notFound, "\(id)")
                #expect(response.object["code"] == "not_found")
            }
            let operatorToken = try harness.token("platform-operator")
            for id in [own, foreign, provider] {
                #expect(try await client.call(.get, "/v1/jobs/\(id)", token: operatorToken).status == .ok)
            }
            // Outside its organization a caller without the permission gets 404 too, never 403.
            let foreignAuditor = try harness.token("auditor", org: "other")
            #expect(try await client.call(.get, "/v1/jobs/\(own)", token: foreignAuditor).status == .notFound)
            let ownAuditor = try harness.token("auditor", org: "acme")
            #expect(try await client.call(.get, "/v1/jobs/\(own)", token: ownAuditor).status == .forbidden)

            #expect(try await client.call(.get, "/v1/organizations/other/jobs", token: viewer).status == .notFound)
            #expect(try await client.call(.post, "/v1/jobs/\(foreign)/cancel", token: viewer).status == .notFound)
            let operatorOfAcme = try harness.token("org-operator", org: "acme")
            let refused = try await client.call(.post, "/v1/jobs/\(provider)/cancel", token: operatorOfAcme)
            #expect(refused.status == .notFound)
            let untouched = try await client.call(.get, "/v1/jobs/\(provider)", token: operatorToken)
            #expect(untouched.object["state"] == "queued")
        }
    }

    @Test func tenantConfinedTokenSeesOnlyItsTenantsJobs() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let shop = try await Self.enqueue(harness, tenant: "shop")
            let depot = try await Self.enqueue(harness, tenant: "depot")
            let organizationWide = try await Self.enqueue(harness, tenant: nil)
            let confined = try harness.token("org-operator", org: "acme") { claims in
                claims["tenants"] = ["shop"]
            }
            #expect(try await client.call(.get, "/v1/jobs/\(shop)", token: confined).status == .ok)
            #expect(try await client.call(.get, "/v1/jobs/\(depot)", token: confined).status == .notFound)
            #expect(try await client.call(.get, "/v1/jobs/\(organizationWide)", token: confined).status == .notFound)
            #expect(try await client.call(.post, "/v1/jobs/\(depot)/cancel", token: confined).status == .notFound)

            let list = try await client.call(.get, "/v1/organizations/acme/jobs", token: confined)
            #expect(list.status == .ok)
            #expect(Self.ids(list) == [shop])
            let asked = try await client.call(.get, "/v1/organizations/acme/jobs?tenant=depot", token: confined)
            #expect(Self.ids(asked) == [])

            let everything = try await client.call(.get, "/v1/organizations/acme/jobs", token: harness.admin)
            #expect(Set(Self.ids(everything)) == [shop, depot, organizationWide])
        }
    }

    @Test func listFiltersAndPagesNewestFirst() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            // Five jobs created in one statement share their created_at: the id breaks the tie.
            let queue = JobQueue(pool: harness.pool)
            let batch = try await queue.enqueue(
                (0..<5).map { JobRequest(kind: "tenant.provision", organization: "acme", tenant: "shop-\($0)") }
            ).map { $0.uuidString.lowercased() }
            let backup = try await Self.enqueue(harness, kind: "tenant.backup", queue: "backups", tenant: "shop-0")
            _ = try await Self.claim(harness, queue: "backups")
            _ = try await Self.enqueue(harness, organization: "other")
            let viewer = try harness.token("org-viewer", org: "acme")

            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let uri = "/v1/organizations/acme/jobs?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.call(.get, uri, token: viewer)
                #expect(page.status == .ok)
                let ids = Self.ids(page)
                #expect(ids.count <= 2)
                seen += ids
                cursor = page.object["next_cursor"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 6 && Set(seen) == Set(batch + [backup]))
            #expect(seen.first == backup)
            #expect(Array(seen.dropFirst()) == batch.sorted(by: >))

            let running = try await client.call(.get, "/v1/organizations/acme/jobs?state=running", token: viewer)
            #expect(Self.ids(running) == [backup])
            let kind = try await client.call(.get, "/v1/organizations/acme/jobs?kind=tenant.provision", token: viewer)
            #expect(Set(Self.ids(kind)) == Set(batch))
            let tenant = try await client.call(.get, "/v1/organizations/acme/jobs?tenant=shop-0", token: viewer)
            #expect(Set(Self.ids(tenant)) == [batch[0], backup])
            let combined = try await client.call(
                .get, "/v1/organizations/acme/jobs?tenant=shop-0&state=queued&kind=tenant.provision", token: viewer
            )
            #expect(Self.ids(combined) == [batch[0]])

            let slugCursor = Base64URL.encode(Array("s1:acme".utf8))
            let bad = try await client.call(
                .get, "/v1/organizations/acme/jobs?state=sleeping&limit=0&cursor=\(slugCursor)&kind=Tenant!&tenant=X",
                token: viewer
            )
            #expect(bad.status == .unprocessableContent)
            #expect(bad.object["code"] == "validation_failed")
            let fields = Set((bad.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue })
            #expect(fields == ["state", "limit", "cursor", "kind", "tenant"])
            let tooLarge = try await client.call(.get, "/v1/organizations/acme/jobs?limit=201", token: viewer)
            #expect(tooLarge.status == .unprocessableContent)

            let unknown = try await client.call(.get, "/v1/organizations/nobody/jobs", token: harness.admin)
            #expect(unknown.status == .notFound)
        }
    }

    @Test func cancellingWaitingRunningAndFinishedJobs() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let operatorToken = try harness.token("org-operator", org: "acme", subject: "alice")

            let waiting = try await Self.enqueue(harness)
            let cancelled = try await client.call(.post, "/v1/jobs/\(waiting)/cancel", token: operatorToken)
            #expect(cancelled.status == .ok)
            #expect(cancelled.object["state"] == "cancelled")
            #expect(cancelled.object["cancel_requested"] == .bool(true))
            #expect(cancelled.object["finished_at"]?.stringValue != nil)
            #expect(cancelled.headers[.eTag] != nil)
            #expect(cancelled.headers[.location] == nil)

            let again = try await client.call(.post, "/v1/jobs/\(waiting)/cancel", token: operatorToken)
            #expect(again.status == .conflict)
            #expect(again.object["code"] == "job_finished")

            let runningID = try await Self.enqueue(harness, queue: "busy")
            let claimed = try await Self.claim(harness, queue: "busy")
            let requested = try await client.call(.post, "/v1/jobs/\(runningID)/cancel", token: operatorToken)
            #expect(requested.status == .accepted)
            #expect(requested.object["state"] == "running")
            #expect(requested.object["cancel_requested"] == .bool(true))
            #expect(requested.headers[.location] == "/v1/jobs/\(runningID)")
            // The worker sees the request at its next heartbeat and stops.
            let queue = JobQueue(pool: harness.pool)
            #expect(try await queue.heartbeat(claimed, lease: .seconds(60)))
            try await queue.acknowledgeCancellation(claimed)
            let stopped = try await client.call(.get, "/v1/jobs/\(runningID)", token: operatorToken)
            #expect(stopped.object["state"] == "cancelled")

            let doneID = try await Self.enqueue(harness, queue: "quick")
            try await queue.complete(try await Self.claim(harness, queue: "quick"))
            let finished = try await client.call(.post, "/v1/jobs/\(doneID)/cancel", token: operatorToken)
            #expect(finished.status == .conflict)
            #expect(finished.object["code"] == "job_finished")
            let done = try await client.call(.get, "/v1/jobs/\(doneID)", token: operatorToken)
            #expect(done.object["state"] == "succeeded")

            #expect(try await client.call(.post, "/v1/jobs/\(UUID().uuidString)/cancel", token: operatorToken).status == .notFound)

            // Both cancellations are in the organization's audit trail.
            let auditor = try harness.token("auditor", org: "acme")
            let events = try await client.call(.get, "/v1/audit-events?action=job.cancel", token: auditor)
            let items = events.object["items"]?.arrayValue ?? []
            #expect(items.count == 2)
            let targets = Set(items.compactMap { $0.objectValue?["target"]?.objectValue?["id"]?.stringValue })
            #expect(targets == [waiting, runningID])
            #expect(items.allSatisfy { $0.objectValue?["organization"] == "acme" && $0.objectValue?["outcome"] == "succeeded" })
            #expect(items.allSatisfy { $0.objectValue?["actor"]?.objectValue?["subject"] == "alice" })
        }
    }

    @Test func viewerCannotCancelAndTheRefusalIsAuditedToTheJobsOrganization() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let id = try await Self.enqueue(harness)
            let viewer = try harness.token("org-viewer", org: "acme")
            let refused = try await client.call(.post, "/v1/jobs/\(id)/cancel", token: viewer)
            #expect(refused.status == .forbidden)
            #expect(refused.object["code"] == "forbidden")
            // Provider staff narrowed to reads are refused too; their refusal belongs to acme.
            let narrowed = try harness.token("platform-operator", subject: "narrowed-operator") { claims in
                claims["scope"] = "jobs:read"
            }
            #expect(try await client.call(.post, "/v1/jobs/\(id)/cancel", token: narrowed).status == .forbidden)
            let job = try await client.call(.get, "/v1/jobs/\(id)", token: viewer)
            #expect(job.object["state"] == "queued")

            let events = try await client.call(
                .get, "/v1/audit-events?action=job.cancel", token: try harness.token("auditor", org: "acme")
            )
            let items = events.object["items"]?.arrayValue ?? []
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0.objectValue?["outcome"] == "denied" })
            let subjects = Set(items.compactMap { $0.objectValue?["actor"]?.objectValue?["subject"]?.stringValue })
            #expect(subjects == ["user-org-viewer", "narrowed-operator"])
        }
    }

    @Test func cancelWithAnIdempotencyKeyIsReplayed() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let id = try await Self.enqueue(harness)
            let first = try await client.call(
                .post, "/v1/jobs/\(id)/cancel", token: harness.admin, headers: ["Idempotency-Key": "cancel-1"]
            )
            #expect(first.status == .ok)
            let replay = try await client.call(
                .post, "/v1/jobs/\(id)/cancel", token: harness.admin, headers: ["Idempotency-Key": "cancel-1"]
            )
            #expect(replay.status == .ok)
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(replay.object["state"] == "cancelled")
        }
    }
}
