import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import TestSupport
import Testing

@testable import API

/// The same router behind a real socket: headers as a client sees them.
@Suite(.timeLimit(.minutes(3))) struct LiveServerTests {
    @Test func realSocketAnswersWithRequestIDsProblemsAndChallenges() async throws {
        try await TestDatabase.withSchema(migrate: true, poolSize: 4) { pool, _ in
            let (harness, router) = try TestHarness.make(pool: pool)
            let application = Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "provisioner")
            )
            try await application.test(.live) { client in
                let health = try await client.call(.get, "/healthz", token: nil, headers: ["X-Request-ID": "live-1"])
                #expect(health.status == .ok)
                #expect(health.headers[HTTPField.Name("X-Request-ID")!] == "live-1")
                #expect(health.headers[.server] == "provisioner")

                let anonymous = try await client.call(.get, "/v1/regions", token: nil)
                #expect(anonymous.status == .unauthorized)
                #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
                #expect(anonymous.headers[.contentType] == "application/problem+json")

                let admin = try harness.token("platform-admin")
                let created = try await client.call(
                    .post, "/v1/regions", token: admin,
                    json: #"{"slug":"live-region","name":"Live","base_domain":"live.example.net"}"#
                )
                #expect(created.status == .created)
                #expect(created.headers[.location] == "/v1/regions/live-region")
                let tooLarge = try await client.call(
                    .post, "/v1/plans", token: admin,
                    json: #"{"slug":"big-plan","name":""# + String(repeating: "x", count: JSONBody.maximumSize) + #""}"#
                )
                #expect(tooLarge.status == .contentTooLarge)
                #expect(tooLarge.headers[.contentType] == "application/problem+json")
            }
        }
    }
}
