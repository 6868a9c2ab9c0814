import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct ConcurrencyTests {
    @Test func concurrentCreatesOfOneSlugYieldOneCreated() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "seed-org")
            let admin = try harness.token("platform-admin")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await client.call(
                            .post, "/v1/organizations", token: admin, json: #"{"slug":"same-org","name":"Same","plan":"basic"}"#
                        ).status.code
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 409 }.count == 49)
        }
    }

    @Test func concurrentRequestsWithOneIdempotencyKeyCreateOnce() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "seed-org")
            let admin = try harness.token("platform-admin")
            let body = #"{"slug":"idem-org","name":"Idem","plan":"basic"}"#
            let responses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await client.call(
                            .post, "/v1/organizations", token: admin, json: body, headers: ["Idempotency-Key": "key-1"]
                        )
                        return (response.status.code, response.text)
                    }
                }
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            let created = responses.filter { $0.0 == 201 }
            #expect(!created.isEmpty)
            #expect(Set(created.map(\.1)).count == 1, "every 201 is the first reply")
            #expect(responses.allSatisfy { $0.0 == 201 || $0.0 == 409 })
            let rows = try await harness.pool.query("SELECT count(*)::int AS n FROM organizations WHERE slug = 'idem-org'")
            #expect(try rows.first?.decode(Int.self, "n") == 1)

            let replay = try await client.call(
                .post, "/v1/organizations", token: admin, json: body, headers: ["Idempotency-Key": "key-1"]
            )
            #expect(replay.status == .created)
            #expect(replay.text == created.first?.1)
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replay.headers[.location] == "/v1/organizations/idem-org")

            let different = try await client.call(
                .post, "/v1/organizations", token: admin, json: #"{"slug":"idem-org-2","name":"Idem","plan":"basic"}"#,
                headers: ["Idempotency-Key": "key-1"]
            )
            #expect(different.status == .unprocessableContent)
            #expect(different.object["code"] == "idempotency_key_reused")
            let none = try await client.call(.get, "/v1/organizations/idem-org-2", token: admin)
            #expect(none.status == .notFound)
        }
    }

    @Test func idempotencyKeysAreScopedToTheCaller() async throws {
        try await TestHarness.run { harness, client in
            try await client.seed(harness, org: "seed-org")
            let first = try harness.token("platform-admin", subject: "alice")
            let second = try harness.token("platform-admin", subject: "bob")
            let a = try await client.call(
                .post, "/v1/plans", token: first, json: #"{"slug":"plan-a","name":"A"}"#, headers: ["Idempotency-Key": "shared"]
            )
            let b = try await client.call(
                .post, "/v1/plans", token: second, json: #"{"slug":"plan-b","name":"B"}"#, headers: ["Idempotency-Key": "shared"]
            )
            #expect(a.status == .created)
            #expect(b.status == .created)
        }
    }
}
