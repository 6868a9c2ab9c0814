import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct AccessTests {
    /// Every organization-scoped operation, with a body where it takes one.
    static let organizationRoutes: [(HTTPRequest.Method, String, String?)] = [
        (.get, "/v1/organizations/org-b", nil),
        (.patch, "/v1/organizations/org-b", #"{"name":"X"}"#),
        (.delete, "/v1/organizations/org-b", nil),
        (.get, "/v1/organizations/org-b/brands", nil),
        (.post, "/v1/organizations/org-b/brands", #"{"slug":"new-brand","name":"X"}"#),
        (.get, "/v1/organizations/org-b/brands/brand-b", nil),
        (.patch, "/v1/organizations/org-b/brands/brand-b", #"{"name":"X"}"#),
        (.delete, "/v1/organizations/org-b/brands/brand-b", nil),
    ]

    @Test func anotherOrganizationsResourcesAreNotFound() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            try await client.call(.post, "/v1/organizations", token: admin, json: #"{"slug":"org-b","name":"B","plan":"basic"}"#)
            try await client.call(.post, "/v1/organizations/org-b/brands", token: admin, json: #"{"slug":"brand-b","name":"B"}"#)
            for role in ["org-admin", "org-operator", "org-viewer", "auditor"] {
                let token = try harness.token(role, org: "org-a")
                for (method, path, body) in Self.organizationRoutes {
                    let response = try await client.call(method, path, token: token, json: body)
                    #expect(response.status == .notFound, "\(role) \(method) \(path)")
                }
                let list = try await client.call(.get, "/v1/organizations", token: token)
                if role != "auditor" {
                    let slugs = (list.object["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["slug"]?.stringValue }
                    #expect(slugs == ["org-a"], "\(role) lists only its organization")
                }
            }
            let intact = try await client.call(.get, "/v1/organizations/org-b/brands/brand-b", token: admin)
            #expect(intact.object["name"] == "B")
        }
    }

    @Test func viewersAreForbiddenEveryWrite() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let admin = try harness.token("platform-admin")
            try await client.call(.post, "/v1/organizations/org-a/brands", token: admin, json: #"{"slug":"brand-a","name":"A"}"#)
            let viewer = try harness.token("org-viewer", org: "org-a")
            let writes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/v1/regions", #"{"slug":"new-region","name":"X","base_domain":"x.example.net"}"#),
                (.patch, "/v1/regions/eu-west", #"{"name":"X"}"#),
                (.delete, "/v1/regions/eu-west", nil),
                (.post, "/v1/plans", #"{"slug":"new-plan","name":"X"}"#),
                (.patch, "/v1/plans/basic", #"{"name":"X"}"#),
                (.post, "/v1/organizations", #"{"slug":"new-org","name":"X","plan":"basic"}"#),
                (.patch, "/v1/organizations/org-a", #"{"name":"X"}"#),
                (.delete, "/v1/organizations/org-a", nil),
                (.post, "/v1/organizations/org-a/brands", #"{"slug":"new-brand","name":"X"}"#),
                (.patch, "/v1/organizations/org-a/brands/brand-a", #"{"name":"X"}"#),
                (.delete, "/v1/organizations/org-a/brands/brand-a", nil),
            ]
            for (method, path, body) in writes {
                let response = try await client.call(method, path, token: viewer, json: body)
                #expect(response.status == .forbidden, "\(method) \(path)")
                #expect(response.object["code"] == "forbidden")
            }
            let reads = ["/v1/regions", "/v1/plans/basic", "/v1/organizations/org-a", "/v1/organizations/org-a/brands/brand-a"]
            for path in reads {
                let response = try await client.call(.get, path, token: viewer)
                #expect(response.status == .ok, "\(path)")
            }
        }
    }

    @Test func organizationAdminsManageBrandsButNotPlans() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let orgAdmin = try harness.token("org-admin", org: "org-a")
            let brand = try await client.call(
                .post, "/v1/organizations/org-a/brands", token: orgAdmin, json: #"{"slug":"brand-a","name":"A"}"#
            )
            #expect(brand.status == .created)
            let rename = try await client.call(.patch, "/v1/organizations/org-a", token: orgAdmin, json: #"{"name":"Renamed"}"#)
            #expect(rename.status == .ok)
            let replan = try await client.call(.patch, "/v1/organizations/org-a", token: orgAdmin, json: #"{"plan":"basic"}"#)
            #expect(replan.status == .forbidden)
            let operatorToken = try harness.token("platform-operator")
            let plan = try await client.call(.post, "/v1/plans", token: operatorToken, json: #"{"slug":"op-plan","name":"X"}"#)
            #expect(plan.status == .forbidden)
            let region = try await client.call(
                .post, "/v1/regions", token: operatorToken, json: #"{"slug":"us-east","name":"US","base_domain":"us.example.net"}"#
            )
            #expect(region.status == .created)
        }
    }

    @Test func badTokensAreUnauthorized() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let other = try JWTSigningKey.generate(.ES256, keyID: "test-key")
            let now = Date().timeIntervalSince1970
            let wrongKey = try other.sign(claims: [
                "iss": .string(TestHarness.issuer), "aud": .string(TestHarness.audience), "sub": "x",
                "roles": ["platform-admin"], "exp": .number(now + 600),
            ])
            let valid = try harness.token("platform-admin")
            let parts = valid.split(separator: ".")
            let noneHeader = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
            let cases: [(String, String?)] = [
                ("missing", nil),
                ("expired", try harness.token("platform-admin") { $0["exp"] = .number(now - 3600) }),
                ("not yet valid", try harness.token("platform-admin") { $0["nbf"] = .number(now + 3600) }),
                ("wrong audience", try harness.token("platform-admin") { $0["aud"] = "someone-else" }),
                ("wrong issuer", try harness.token("platform-admin") { $0["iss"] = "https://evil.test" }),
                ("wrong signature", wrongKey),
                ("alg none", "\(noneHeader).\(parts[1])."),
                ("garbage", "not-a-token"),
            ]
            for (name, token) in cases {
                let response = try await client.call(.get, "/v1/organizations/org-a", token: token)
                #expect(response.status == .unauthorized, "\(name)")
                let challenge = try #require(response.headers[.wwwAuthenticate], "\(name)")
                #expect(challenge.hasPrefix("Bearer"))
                #expect(challenge.contains("invalid_token") == (token != nil), "\(name)")
                #expect(response.object["code"] == "unauthorized")
            }
            let ok = try await client.call(.get, "/v1/organizations/org-a", token: valid)
            #expect(ok.status == .ok)
        }
    }

    @Test func scopesNarrowRoles() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "org-a")
            let narrowed = try harness.token("org-admin", org: "org-a") { $0["scope"] = "brands:read" }
            let read = try await client.call(.get, "/v1/organizations/org-a/brands", token: narrowed)
            #expect(read.status == .ok)
            let write = try await client.call(
                .post, "/v1/organizations/org-a/brands", token: narrowed, json: #"{"slug":"brand-a","name":"A"}"#
            )
            #expect(write.status == .forbidden)
        }
    }
}
