import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import TestSupport
import Testing

@testable import API

/// `PROVISIONER_RATE_LIMIT` and `PROVISIONER_MAX_BODY_BYTES` through the router.
@Suite(.timeLimit(.minutes(3))) struct RequestLimitTests {
    /// Half a request per second: a burst of one, so the second request in a row is refused.
    static let slow = RequestLimits(requestsPerSecond: 0.5)

    @Test func aPrincipalOverItsRateGets429WithRetryAfter() async throws {
        try await TestHarness.run(limits: Self.slow) { harness, client in
            let alice = try harness.token("platform-admin", subject: "alice")
            let first = try await client.call(.get, "/v1/regions", token: alice)
            #expect(first.status == .ok)
            let second = try await client.call(.get, "/v1/regions", token: alice, headers: ["X-Request-ID": "limited-1"])
            #expect(second.status == .tooManyRequests)
            #expect(second.headers[.contentType] == "application/problem+json")
            #expect(second.object["code"] == "rate_limited")
            #expect(second.object["status"] == .number(429))
            #expect(second.object["request_id"] == "limited-1")
            let retryAfter = try #require(second.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...2).contains(retryAfter))

            // Writes count too, before the body is read; other principals are not affected.
            let write = try await client.call(
                .post, "/v1/regions", token: alice, json: #"{"slug":"eu-west","name":"EU","base_domain":"eu.example.net"}"#
            )
            #expect(write.status == .tooManyRequests)
            let bob = try harness.token("platform-admin", subject: "bob")
            let other = try await client.call(.get, "/v1/regions", token: bob)
            #expect(other.status == .ok)

            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.text.contains(#"http_requests_rate_limited_total{principal="user"} 2"#))
            #expect(metrics.text.contains(#"http_requests_rate_limited_total{principal="partner"} 0"#))
        }
    }

    @Test func operationsEndpointsAreNotLimited() async throws {
        try await TestHarness.run(limits: Self.slow) { _, client in
            for path in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
                for _ in 0..<5 {
                    let response = try await client.call(.get, path, token: nil)
                    #expect(response.status == .ok, "\(path)")
                }
            }
        }
    }

    @Test func rejectedTokensCreateNoBuckets() async throws {
        try await TestHarness.run(limits: Self.slow) { harness, client in
            let limiter = try #require(harness.routes.limiter)
            let expired = try harness.token("platform-admin", subject: "mallory") {
                $0["exp"] = .number(Date().timeIntervalSince1970 - 3600)
            }
            for index in 0..<20 {
                let forged = try JWTSigningKey.generate(.ES256, keyID: "test-key").sign(claims: [
                    "iss": .string(TestHarness.issuer), "aud": .string(TestHarness.audience), "sub": .string("forged-\(index)"),
                    "exp": .number(Date().timeIntervalSince1970 + 600),
                ])
                for token in [forged, expired, nil] {
                    let response = try await client.call(.get, "/v1/regions", token: token)
                    #expect(response.status == .unauthorized)
                }
            }
            #expect(limiter.bucketCount == 0)
        }
    }

    @Test func zeroTurnsLimitingOff() async throws {
        try await TestHarness.run(limits: RequestLimits(requestsPerSecond: 0)) { harness, client in
            #expect(harness.routes.limiter == nil)
            let alice = try harness.token("platform-admin", subject: "alice")
            for _ in 0..<250 {
                let response = try await client.call(.get, "/v1/regions", token: alice)
                #expect(response.status == .ok)
                if response.status != .ok { break }
            }
        }
    }

    @Test func theDefaultAllowsABurstOfTwiceFifty() async throws {
        try await TestHarness.run(limits: RequestLimits()) { harness, client in
            let alice = try harness.token("platform-admin", subject: "alice")
            let started = ContinuousClock.now
            var passed = 0
            for _ in 0..<400 {
                // Refused by validation without touching the catalog: as fast as a request gets.
                let response = try await client.call(.post, "/v1/regions", token: alice, json: "{}")
                guard response.status != .tooManyRequests else { break }
                passed += 1
            }
            let elapsed = ContinuousClock.now - started
            // 100 at once, plus what refilled (50/s) while the requests ran.
            let refilled = Int(elapsed.components.seconds * 50) + Int(Double(elapsed.components.attoseconds) / 1e18 * 50)
            #expect(passed >= 100)
            #expect(passed <= 100 + refilled + 1)
        }
    }

    @Test func bodiesOverTheConfiguredLimitGet413() async throws {
        try await TestHarness.run(limits: RequestLimits(requestsPerSecond: 0, maxBodyBytes: 1024)) { harness, client in
            let admin = try harness.token("platform-admin")
            let padding = String(repeating: "x", count: 1100)
            let large = try await client.call(
                .post, "/v1/regions", token: admin,
                json: #"{"slug":"eu-west","name":"\#(padding)","base_domain":"eu.example.net"}"#
            )
            #expect(large.status == .contentTooLarge)
            #expect(large.headers[.contentType] == "application/problem+json")
            #expect(large.object["code"] == "payload_too_large")
            #expect(large.object["detail"]?.stringValue?.contains("1024") == true)

            let small = try await client.call(
                .post, "/v1/regions", token: admin, json: #"{"slug":"eu-west","name":"EU","base_domain":"eu.example.net"}"#
            )
            #expect(small.status == .created)
            let patch = try await client.call(.patch, "/v1/regions/eu-west", token: admin, json: #"{"name":"\#(padding)"}"#)
            #expect(patch.status == .contentTooLarge)
            let keyed = try await client.call(
                .post, "/v1/plans", token: admin, json: #"{"slug":"big","name":"\#(padding)"}"#,
                headers: ["Idempotency-Key": "large-1"]
            )
            #expect(keyed.status == .contentTooLarge)
            // Unauthenticated callers get 401 without their body being read.
            let anonymous = try await client.call(.post, "/v1/plans", token: nil, json: #"{"name":"\#(padding)"}"#)
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func bodiesUpToALargerConfiguredLimitAreRead() async throws {
        try await TestHarness.run(limits: RequestLimits(requestsPerSecond: 0, maxBodyBytes: 4 << 20)) { harness, client in
            let admin = try harness.token("platform-admin")
            let padding = String(repeating: "x", count: 2 << 20)
            // Past the default 1 MiB, under the configured 4 MiB: the handler reads it and judges the name.
            let response = try await client.call(.post, "/v1/plans", token: admin, json: #"{"slug":"big","name":"\#(padding)"}"#)
            #expect(response.status == .unprocessableContent)
        }
    }

    @Test func tenantConfinedTokensSeeOnlyTheirTenants() async throws {
        try await TestDatabase.withSchema(migrate: true, poolSize: 2) { pool, _ in
            let (harness, router) = try TestHarness.make(pool: pool)
            // A probe beside the real tenant routes: the registry's confinement, not the catalog, answers.
            harness.routes.add(.get, "/v1/organizations/{org}/tenants/{tenant}/probe", access: .permission(.tenantsRead)) {
                _, context in
                APIResponse(json: .object(["slug": .string(try context.parameters.require("tenant"))]))
            }
            try await Application(router: router).test(.router) { client in
                let confined = try harness.token("org-viewer", org: "org-a") { $0["tenants"] = ["shop-1"] }
                let unconfined = try harness.token("org-viewer", org: "org-a")
                let own = try await client.call(.get, "/v1/organizations/org-a/tenants/shop-1/probe", token: confined)
                #expect(own.status == .ok)
                let other = try await client.call(.get, "/v1/organizations/org-a/tenants/shop-2/probe", token: confined)
                #expect(other.status == .notFound)
                #expect(other.object["code"] == "not_found")
                let unconfinedOther = try await client.call(.get, "/v1/organizations/org-a/tenants/shop-2/probe", token: unconfined)
                #expect(unconfinedOther.status == .ok)
                let otherOrganization = try await client.call(.get, "/v1/organizations/org-b/tenants/shop-1/probe", token: confined)
                #expect(otherOrganization.status == .notFound)
            }
        }
    }
}
