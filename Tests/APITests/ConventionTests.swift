import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct ConventionTests {
    @Test func problemsCarryCodeRequestIDAndFieldErrors() async throws {
        try await TestHarness.run { harness, client in
            let admin = try harness.token("platform-admin")
            let response = try await client.call(
                .post, "/v1/regions", token: admin, json: #"{"slug":"Bad_Slug","name":"","base_domain":"x","extra":1}"#,
                headers: ["X-Request-ID": "req-123"]
            )
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "req-123")
            #expect(response.object["code"] == "validation_failed")
            #expect(response.object["request_id"] == "req-123")
            #expect(response.object["status"] == .number(422))
            #expect(response.object["type"]?.stringValue != nil)
            #expect(response.object["title"]?.stringValue != nil)
            let fields = Set(
                (response.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue }
            )
            #expect(fields == ["slug", "name", "base_domain", "extra"])
            let list = try await client.call(.get, "/v1/regions", token: admin)
            #expect(list.object["items"] == .array([]))
        }
    }

    @Test(arguments: [
        ("{", 400, "malformed_json"),
        (#"{"slug":"a","slug":"b"}"#, 400, "malformed_json"),
        ("[1,2]", 422, "validation_failed"),
        ("", 400, "malformed_json"),
    ])
    func malformedBodiesAreRefused(body: String, status: Int, code: String) async throws {
        try await TestHarness.run { harness, client in
            let response = try await client.call(.post, "/v1/plans", token: try harness.token("platform-admin"), json: body)
            #expect(response.status.code == status)
            #expect(response.object["code"] == .string(code))
        }
    }

    @Test func wrongMediaTypeIs415() async throws {
        try await TestHarness.run { harness, client in
            let response = try await client.execute(
                uri: "/v1/plans", method: .post,
                headers: [.authorization: "Bearer \(try harness.token("platform-admin"))", .contentType: "text/plain"],
                body: ByteBuffer(string: #"{"slug":"abc","name":"x"}"#)
            )
            #expect(response.status == .unsupportedMediaType)
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        try await TestHarness.run { _, client in
            let echoed = try await client.call(.get, "/healthz", token: nil, headers: ["X-Request-ID": "abc.DEF_1:2-3"])
            #expect(echoed.headers[HTTPField.Name("X-Request-ID")!] == "abc.DEF_1:2-3")
            let replaced = try await client.call(.get, "/healthz", token: nil, headers: ["X-Request-ID": "bad id!"])
            let generated = try #require(replaced.headers[HTTPField.Name("X-Request-ID")!])
            #expect(generated != "bad id!" && !generated.isEmpty)
            let unmatched = try await client.call(.get, "/nowhere", token: nil)
            #expect(unmatched.status == .notFound)
            #expect(unmatched.headers[HTTPField.Name("X-Request-ID")!] != nil)
            #expect(unmatched.object["code"] == "not_found")
        }
    }

    @Test func unsupportedMethodOnAKnownPathIs405() async throws {
        try await TestHarness.run { harness, client in
            let response = try await client.call(.put, "/v1/regions/eu-west", token: try harness.token("platform-admin"))
            #expect(response.status == .methodNotAllowed)
            let allow = try #require(response.headers[.allow])
            #expect(allow.contains("GET") && allow.contains("PATCH") && allow.contains("DELETE"))
        }
    }

    @Test func operationsEndpointsAnswer() async throws {
        try await TestHarness.run { _, client in
            let health = try await client.call(.get, "/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(health.object["status"] == "ok")
            let ready = try await client.call(.get, "/readyz", token: nil)
            #expect(ready.status == .ok)
            let spec = try await client.call(.get, "/openapi.yaml", token: nil)
            #expect(spec.status == .ok)
            #expect(spec.text.hasPrefix("openapi: 3.1"))
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("http_requests_total"))
            #expect(metrics.text.contains(#"route="/healthz""#))
            #expect(metrics.text.contains("http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains("db_pool_connections_in_use"))
            #expect(metrics.text.contains("db_pool_waiting"))
        }
    }

    @Test func readinessFailsWhenTheSchemaIsBehind() async throws {
        try await TestHarness.run { harness, client in
            _ = try await harness.pool.query("DELETE FROM schema_migrations")
            let ready = try await client.call(.get, "/readyz", token: nil)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.retryAfter] != nil)
            #expect(ready.headers[.contentType] == "application/problem+json")
        }
    }
}
