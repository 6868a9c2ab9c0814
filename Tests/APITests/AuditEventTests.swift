import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct AuditEventTests {
    static func items(_ response: TestResponse) -> [[String: JSONValue]] {
        (response.object["items"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    static func actions(_ response: TestResponse) -> [String] {
        items(response).compactMap { $0["action"]?.stringValue }
    }

    @Test func writesThroughTheAPIAreAuditedWithActorOrganizationAndRequestID() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            let created = try await client.call(
                .post, "/v1/organizations/org-a/brands", token: admin, json: #"{"slug":"outlet","name":"Outlet"}"#,
                headers: ["X-Request-ID": "req-brand-1", "Idempotency-Key": "brand-outlet"]
            )
            #expect(created.status == .created)
            // A replay answers from the idempotency record: no second event.
            let replay = try await client.call(
                .post, "/v1/organizations/org-a/brands", token: admin, json: #"{"slug":"outlet","name":"Outlet"}"#,
                headers: ["Idempotency-Key": "brand-outlet"]
            )
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

            let list = try await client.call(.get, "/v1/audit-events", token: admin)
            #expect(list.status == .ok)
            #expect(
                Self.actions(list) == ["brand.create", "organization.create", "plan.create", "region.create"]
            )
            let event = try #require(Self.items(list).first)
            #expect(event["request_id"] == "req-brand-1")
            #expect(event["organization"] == "org-a")
            #expect(event["outcome"] == "succeeded")
            #expect(event["target"] == ["type": "brand", "id": "outlet"])
            #expect(event["actor"] == ["issuer": .string(TestHarness.issuer), "subject": "user-platform-admin", "organization": nil])
            #expect(event["summary"] == ["changes": ["name": ["to": "Outlet"], "default_region": ["to": nil]]])
            #expect(event["sequence"] == .null && event["hash"] == .null)
            let timestamp = try #require(event["occurred_at"]?.stringValue)
            #expect(timestamp.hasSuffix("Z"))
        }
    }

    @Test func aRefusedWriteThatRollsBackLeavesNoEventAndACommittedOneHasOne() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            try await client.call(
                .post, "/v1/organizations/org-a/brands", token: admin,
                json: #"{"slug":"outlet","name":"Outlet","default_region":"eu-west"}"#
            )
            let refused = try await client.call(.delete, "/v1/regions/eu-west", token: admin)
            #expect(refused.status == .conflict)
            let none = try await client.call(.get, "/v1/audit-events?action=region.delete", token: admin)
            #expect(Self.items(none).isEmpty)

            try await client.call(.delete, "/v1/organizations/org-a/brands/outlet", token: admin)
            let deleted = try await client.call(.delete, "/v1/regions/eu-west", token: admin)
            #expect(deleted.status == .noContent)
            let one = try await client.call(.get, "/v1/audit-events?action=region.delete", token: admin)
            #expect(Self.items(one).count == 1)
            #expect(Self.items(one).first?["target"] == ["type": "region", "id": "eu-west"])
        }
    }

    @Test func sharedPostgresURLNeverAppearsInAuditEvents() async throws {
        try await TestHarness.run { harness, client in
            let admin = try harness.token("platform-admin")
            let secret = "postgresql://admin:s3cret-pass@db.internal:5432/postgres"
            try await client.call(
                .post, "/v1/regions", token: admin,
                json: #"{"slug":"us-east","name":"US","base_domain":"us.example.net","shared_postgres_url":"\#(secret)"}"#
            )
            try await client.call(
                .patch, "/v1/regions/us-east", token: admin,
                json: #"{"shared_postgres_url":"postgresql://admin:0ther-pass@db2.internal/postgres"}"#
            )
            let list = try await client.call(.get, "/v1/audit-events?target=region:us-east", token: admin)
            #expect(Self.items(list).count == 2)
            #expect(!list.text.contains("s3cret") && !list.text.contains("0ther") && !list.text.contains("internal"))
            let update = try #require(Self.items(list).first)
            #expect(
                update["summary"]
                    == ["changes": ["shared_postgres_url": ["from": "[redacted]", "to": "[redacted]"]]]
            )
            let stored = try await harness.pool.query("SELECT string_agg(summary::text, ' ') AS all FROM audit_events")
            #expect(try !(stored.first?.decode(String.self, "all").contains("s3cret") ?? true))
        }
    }

    @Test func forbiddenRequestsAreAudited() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let viewer = try harness.token("org-viewer", org: "org-a")
            let patch = try await client.call(.patch, "/v1/organizations/org-a", token: viewer, json: #"{"name":"X"}"#)
            #expect(patch.status == .forbidden)
            let region = try await client.call(
                .post, "/v1/regions", token: viewer, json: #"{"slug":"new-region","name":"X","base_domain":"x.example.net"}"#,
                headers: ["X-Request-ID": "req-denied-region"]
            )
            #expect(region.status == .forbidden)
            // A 403 from inside a handler (only staff change plans) is audited too.
            let orgAdmin = try harness.token("org-admin", org: "org-a")
            let replan = try await client.call(.patch, "/v1/organizations/org-a", token: orgAdmin, json: #"{"plan":"basic"}"#)
            #expect(replan.status == .forbidden)

            let admin = try harness.token("platform-admin")
            let denied = try await client.call(.get, "/v1/audit-events?org=org-a", token: admin)
            let events = Self.items(denied).filter { $0["outcome"] == "denied" }
            #expect(
                events.compactMap { $0["action"]?.stringValue }
                    == ["organization.update", "region.create", "organization.update"]
            )
            #expect(events[0]["actor"]?.objectValue?["subject"] == "user-org-admin")
            #expect(events[1]["request_id"] == "req-denied-region")
            #expect(events[1]["target"] == ["type": "region", "id": nil])
            #expect(events[2]["target"] == ["type": "organization", "id": "org-a"])
            #expect(events[2]["summary"]?.objectValue?["status"] == 403)
            // Nothing changed.
            let org = try await client.call(.get, "/v1/organizations/org-a", token: admin)
            #expect(org.object["name"] == "Org")
        }
    }

    @Test func organizationAuditorsSeeWhatStaffDidToTheirOrganizationOnly() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            try await client.call(.post, "/v1/organizations", token: admin, json: #"{"slug":"org-b","name":"B","plan":"basic"}"#)
            try await client.call(.post, "/v1/organizations/org-a/brands", token: admin, json: #"{"slug":"brand-a","name":"A"}"#)
            try await client.call(.post, "/v1/organizations/org-b/brands", token: admin, json: #"{"slug":"brand-b","name":"B"}"#)

            for role in ["auditor", "org-admin"] {
                let token = try harness.token(role, org: "org-a")
                let own = try await client.call(.get, "/v1/audit-events", token: token)
                #expect(own.status == .ok, "\(role)")
                #expect(Self.actions(own) == ["brand.create", "organization.create"], "\(role)")
                #expect(Self.items(own).allSatisfy { $0["organization"] == "org-a" }, "\(role)")
                #expect(Self.items(own).first?["actor"]?.objectValue?["subject"] == "user-platform-admin")
                let other = try await client.call(.get, "/v1/audit-events?org=org-b", token: token)
                #expect(other.status == .ok && Self.items(other).isEmpty, "\(role)")
            }

            let staffAuditor = try harness.token("auditor")
            let all = try await client.call(.get, "/v1/audit-events", token: staffAuditor)
            #expect(Self.items(all).count == 6)
            let orgB = try await client.call(.get, "/v1/audit-events?org=org-b", token: staffAuditor)
            #expect(Self.actions(orgB) == ["brand.create", "organization.create"])

            for (role, org) in [("org-viewer", "org-a"), ("org-operator", "org-a"), ("platform-operator", nil)] {
                let token = try harness.token(role, org: org)
                let refused = try await client.call(.get, "/v1/audit-events", token: token)
                #expect(refused.status == .forbidden, "\(role)")
            }
            let refusals = try await client.call(.get, "/v1/audit-events?action=audit-event.list", token: admin)
            #expect(Self.items(refusals).count == 3)
        }
    }

    @Test func authenticationFailuresAreCountedAndAuditedAtABoundedRate() async throws {
        try await TestHarness.run { harness, client in
            for index in 0..<15 {
                let response = try await client.call(.get, "/v1/regions", token: "not-a-token-\(index)")
                #expect(response.status == .unauthorized)
            }
            for _ in 0..<3 {
                try await client.call(.get, "/v1/organizations/org-a", token: nil)
            }
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.text.contains(#"authentication_failures_total{reason="invalid_token"} 15"#), "\(metrics.text)")
            #expect(metrics.text.contains(#"authentication_failures_total{reason="missing_token"} 3"#))

            let admin = try harness.token("platform-admin")
            let events = try await client.call(.get, "/v1/audit-events?limit=200", token: admin)
            let unauthenticated = Self.items(events).filter { $0["outcome"] == "unauthenticated" }
            #expect(unauthenticated.count == 10)
            #expect(unauthenticated.allSatisfy { $0["actor"] == .null && $0["organization"] == .null })
            #expect(unauthenticated.allSatisfy { $0["action"] == "region.list" })
            #expect(!events.text.contains("not-a-token"))
        }
    }

    @Test func listsPageAndRefuseBadFilters() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            let first = try await client.call(.get, "/v1/audit-events?limit=2", token: admin)
            #expect(Self.actions(first) == ["organization.create", "plan.create"])
            let cursor = try #require(first.object["next_cursor"]?.stringValue)
            let second = try await client.call(.get, "/v1/audit-events?limit=2&cursor=\(cursor)", token: admin)
            #expect(Self.actions(second) == ["region.create"])
            #expect(second.object["next_cursor"] == .null)

            let filtered = try await client.call(
                .get, "/v1/audit-events?actor=user-platform-admin&target=plan&since=2020-01-01T00:00:00Z", token: admin
            )
            #expect(Self.actions(filtered) == ["plan.create"])
            let future = try await client.call(.get, "/v1/audit-events?since=2999-01-01T00:00:00.500Z", token: admin)
            #expect(future.status == .ok && Self.items(future).isEmpty)

            let slugCursor = Base64URL.encode(Array("s1:eu-west".utf8))
            let bad = try await client.call(
                .get, "/v1/audit-events?limit=0&cursor=\(slugCursor)&org=Org_A&since=yesterday&target=:x&action=A",
                token: admin
            )
            #expect(bad.status == .unprocessableContent)
            let fields = Set((bad.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue })
            #expect(fields == ["limit", "cursor", "org", "since", "target", "action"])
        }
    }

    struct RouteCase: Sendable {
        var method: HTTPRequest.Method
        var template: String
        var expected: AuditTarget

        init(
            _ method: HTTPRequest.Method, _ template: String, _ action: String, _ type: String, _ id: String?,
            _ organization: String?
        ) {
            self.method = method
            self.template = template
            self.expected = AuditTarget(action: action, type: type, id: id, organization: organization)
        }
    }

    @Test(arguments: [
        RouteCase(.post, "/v1/regions", "region.create", "region", nil, nil),
        RouteCase(.patch, "/v1/regions/{region}", "region.update", "region", "eu-west", nil),
        RouteCase(.get, "/v1/organizations", "organization.list", "organization", nil, nil),
        RouteCase(.delete, "/v1/organizations/{org}", "organization.delete", "organization", "acme", "acme"),
        RouteCase(.post, "/v1/organizations/{org}/brands", "brand.create", "brand", nil, "acme"),
        RouteCase(.get, "/v1/organizations/{org}/brands/{brand}", "brand.read", "brand", "outlet", "acme"),
        RouteCase(.post, "/v1/organizations/{org}/tenants/{tenant}/suspend", "tenant.suspend", "tenant", "shop", "acme"),
        RouteCase(.get, "/v1/organizations/{org}/usage", "organization.usage", "organization", "acme", "acme"),
        RouteCase(.post, "/v1/jobs/{job}/cancel", "job.cancel", "job", "42", nil),
        RouteCase(.get, "/v1/stacks/{stack}/artifacts/diff", "artifact.diff", "artifact", nil, nil),
        RouteCase(.get, "/v1/audit-events", "audit-event.list", "audit-event", nil, nil),
        RouteCase(.get, "/v1/organizations/{org}/tokens", "token.list", "token", nil, "acme"),
        RouteCase(.post, "/v1/organizations/{org}/tokens", "token.create", "token", nil, "acme"),
        RouteCase(.delete, "/v1/organizations/{org}/tokens/{token}", "token.delete", "token", "0b0e", "acme"),
    ])
    func auditTargetsAreReadOffRoutes(_ route: RouteCase) {
        let values = ["region": "eu-west", "org": "acme", "brand": "outlet", "tenant": "shop", "job": "42", "stack": "s1", "token": "0b0e"]
        #expect(AuditTarget(method: route.method, template: route.template) { values[$0] } == route.expected)
    }

    @Test func theThrottleAdmitsAtMostItsLimitPerWindow() {
        let throttle = AuditThrottle(limit: 3, window: .seconds(60))
        let start = ContinuousClock.now
        let admitted = (0..<10).map { throttle.admit(now: start + .seconds($0)) }
        #expect(admitted.compactMap { $0 }.count == 3)
        #expect(admitted[0...2].allSatisfy { $0 == .init(suppressedBefore: 0) })
        // A minute after the first admission one more fits, and says how many were left out.
        #expect(throttle.admit(now: start + .seconds(59)) == nil)
        #expect(throttle.admit(now: start + .seconds(60)) == .init(suppressedBefore: 8))
        #expect(throttle.admit(now: start + .seconds(60)) == nil)
        #expect(AuditThrottle(limit: 0).admit() == nil)
    }
}
