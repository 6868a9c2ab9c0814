import Catalog
import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

/// Minting and revoking partner tokens, and rotating their signing key, are
/// audited like every other write: one event committed with the change, never
/// the token or key material.
@Suite(.timeLimit(.minutes(3))) struct PartnerTokenAuditTests {
    static let tokens = PartnerTokenTests.tokens

    static func events(
        _ client: some TestClientProtocol, _ harness: TestHarness, _ filter: String
    ) async throws -> [[String: JSONValue]] {
        let list = try await client.call(.get, "/v1/audit-events?limit=200&\(filter)", token: try harness.token("platform-admin"))
        #expect(list.status == .ok, "\(list.text)")
        return AuditEventTests.items(list)
    }

    /// Every column of every audit event, as text.
    static func auditTable(_ harness: TestHarness) async throws -> String {
        let rows = try await harness.pool.query(
            "SELECT coalesce(string_agg(e::text, ' '), '') AS everything FROM audit_events e"
        )
        return try #require(rows.first).decode(String.self, "everything")
    }

    @Test func mintAndRevokeEachLeaveOneEventAndNeverTheToken() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await PartnerTokenTests.seedTwoOrganizations(harness, client)
            let (id, token, reply) = try await PartnerTokenTests.mint(
                client, as: orgAdmin, #"{"name":"POS vendor","scopes":["brands:read","tenants:read"],"tenants":["shop"]}"#,
                headers: ["X-Request-ID": "req-mint-1"]
            )
            let expiresAt = try #require(reply.object["expires_at"]?.stringValue)
            let actor: JSONValue = [
                "issuer": .string(TestHarness.issuer), "subject": "user-org-admin", "organization": "org-a",
            ]

            let created = try await Self.events(client, harness, "action=token.create")
            #expect(created.count == 1)
            let mint = try #require(created.first)
            #expect(mint["actor"] == actor)
            #expect(mint["organization"] == "org-a")
            #expect(mint["target"] == ["type": "token", "id": .string(id)])
            #expect(mint["outcome"] == "succeeded")
            #expect(mint["request_id"] == "req-mint-1")
            #expect(
                mint["summary"]
                    == [
                        "changes": [
                            "name": ["to": "POS vendor"], "scopes": ["to": ["brands:read", "tenants:read"]],
                            "tenants": ["to": ["shop"]], "expires_at": ["to": .string(expiresAt)],
                        ]
                    ]
            )

            // The token works until it is revoked.
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: token).status == .ok)
            let revoke = try await client.call(
                .delete, "\(Self.tokens)/\(id)", token: orgAdmin, headers: ["X-Request-ID": "req-revoke-1"]
            )
            #expect(revoke.status == .noContent)
            // Revoking again is a 404 and records nothing more.
            #expect(try await client.call(.delete, "\(Self.tokens)/\(id)", token: orgAdmin).status == .notFound)

            let deleted = try await Self.events(client, harness, "action=token.delete")
            #expect(deleted.count == 1)
            let revocation = try #require(deleted.first)
            #expect(revocation["actor"] == actor)
            #expect(revocation["organization"] == "org-a")
            #expect(revocation["target"] == ["type": "token", "id": .string(id)])
            #expect(revocation["outcome"] == "succeeded")
            #expect(revocation["request_id"] == "req-revoke-1")
            #expect(
                revocation["summary"]
                    == [
                        "changes": [
                            "name": ["from": "POS vendor"], "scopes": ["from": ["brands:read", "tenants:read"]],
                            "tenants": ["from": ["shop"]], "expires_at": ["from": .string(expiresAt)],
                        ]
                    ]
            )
            #expect(try await Self.events(client, harness, "target=token:\(id)").count == 2)

            // Neither the token nor any part of it is anywhere in the audit table.
            let parts = token.split(separator: ".").map(String.init)
            let everything = try await Self.auditTable(harness)
            #expect(everything.contains(id))
            #expect(!everything.contains(token))
            #expect(!everything.contains(parts[2]), "the signature")
            #expect(!everything.contains(parts[1]), "the encoded claims")
        }
    }

    @Test func mintsThatFailRecordNothing() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await PartnerTokenTests.seedTwoOrganizations(harness, client)
            let invalid = [
                #"{"name":"X","scopes":["tokens:write"]}"#,
                #"{"name":"X","scopes":["plans:write"]}"#,
                #"{"name":"X","scopes":[]}"#,
                #"{"name":"X","scopes":["brands:read"],"expires_at":"2999-01-01T00:00:00Z"}"#,
                #"{"scopes":["brands:read"]}"#,
            ]
            for body in invalid {
                let response = try await client.call(.post, Self.tokens, token: orgAdmin, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
            }
            // An organization that does not exist: the catalog write fails and rolls back with its event.
            let missing = try await client.call(
                .post, "/v1/organizations/org-none/tokens", token: try harness.token("platform-admin"),
                json: #"{"name":"X","scopes":["brands:read"]}"#
            )
            #expect(missing.status == .notFound)
            // A revocation of a token that does not exist records nothing either.
            let unknown = try await client.call(.delete, "\(Self.tokens)/\(UUID().uuidString.lowercased())", token: orgAdmin)
            #expect(unknown.status == .notFound)

            #expect(try await Self.events(client, harness, "target=token").isEmpty)
            let rows = try await harness.pool.query("SELECT count(*) AS tokens FROM partner_tokens")
            #expect(try rows.first?.decode(Int64.self, "tokens") == 0)
        }
    }

    @Test func organizationAuditorsSeeTheirOrganizationsTokenEvents() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await PartnerTokenTests.seedTwoOrganizations(harness, client)
            let (id, _, _) = try await PartnerTokenTests.mint(client, as: orgAdmin)
            try await client.call(.delete, "\(Self.tokens)/\(id)", token: orgAdmin)
            // A token of the other organization, minted by provider staff.
            let (otherID, _, _) = try await PartnerTokenTests.mint(
                client, as: try harness.token("platform-admin"), path: "/v1/organizations/org-b/tokens"
            )

            let auditor = try harness.token("auditor", org: "org-a")
            let own = try await client.call(.get, "/v1/audit-events?target=token", token: auditor)
            #expect(own.status == .ok)
            #expect(AuditEventTests.actions(own) == ["token.delete", "token.create"])
            #expect(AuditEventTests.items(own).allSatisfy { $0["target"]?.objectValue?["id"] == .string(id) })
            #expect(AuditEventTests.items(own).allSatisfy { $0["organization"] == "org-a" })
            let byID = try await client.call(.get, "/v1/audit-events?target=token:\(id)&action=token.delete", token: auditor)
            #expect(AuditEventTests.items(byID).count == 1)
            let other = try await client.call(.get, "/v1/audit-events?target=token:\(otherID)", token: auditor)
            #expect(other.status == .ok && AuditEventTests.items(other).isEmpty)

            let otherAuditor = try harness.token("auditor", org: "org-b")
            let theirs = try await client.call(.get, "/v1/audit-events?target=token", token: otherAuditor)
            #expect(AuditEventTests.actions(theirs) == ["token.create"])
            #expect(AuditEventTests.items(theirs).first?["target"]?.objectValue?["id"] == .string(otherID))
            #expect(AuditEventTests.items(theirs).first?["actor"]?.objectValue?["subject"] == "user-platform-admin")
        }
    }

    @Test func refusedTokenRequestsAreAuditedAsTokenActions() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await PartnerTokenTests.seedTwoOrganizations(harness, client)
            let (id, partner, _) = try await PartnerTokenTests.mint(client, as: orgAdmin)
            let viewer = try harness.token("org-viewer", org: "org-a")
            #expect(
                try await client.call(.post, Self.tokens, token: viewer, json: #"{"name":"X","scopes":["brands:read"]}"#)
                    .status == .forbidden
            )
            #expect(try await client.call(.delete, "\(Self.tokens)/\(id)", token: viewer).status == .forbidden)
            // A partner token cannot mint or revoke tokens (no tokens:write), not even itself.
            #expect(try await client.call(.delete, "\(Self.tokens)/\(id)", token: partner).status == .forbidden)

            let denied = try await Self.events(client, harness, "target=token").filter { $0["outcome"] == "denied" }
            #expect(denied.compactMap { $0["action"]?.stringValue } == ["token.delete", "token.delete", "token.create"])
            #expect(denied.allSatisfy { $0["organization"] == "org-a" })
            #expect(denied[0]["target"] == ["type": "token", "id": .string(id)])
            #expect(denied[0]["actor"]?.objectValue?["subject"] == .string("partner-token:\(id)"))
            #expect(denied[1]["actor"]?.objectValue?["subject"] == "user-org-viewer")
            #expect(denied[2]["target"] == ["type": "token", "id": nil])
            // The token still works: nothing was revoked.
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
            #expect(!(try await Self.auditTable(harness)).contains(String(partner.split(separator: ".")[2])))
        }
    }

    @Test func keyRotationIsAuditedAsAProviderEventWithoutKeyMaterial() async throws {
        try await TestHarness.run { harness, client in
            try await PartnerTokenTests.seedTwoOrganizations(harness, client)
            let keys = PartnerSigningKeys(pool: harness.pool, sealer: harness.sealer)
            let first = try await keys.ensureActive()
            let (second, retired) = try await keys.rotate(
                audit: AuditContext(actor: .commandLine(user: "ops"), requestID: nil)
            )
            #expect(retired == first.keyID)

            let rotations = try await Self.events(client, harness, "action=signing-key.rotate")
            #expect(rotations.count == 1)
            let event = try #require(rotations.first)
            #expect(event["actor"] == ["issuer": "provisioner-cli", "subject": "cli:ops", "organization": nil])
            #expect(event["organization"] == .null)
            #expect(event["target"] == ["type": "signing-key", "id": .string(second)])
            #expect(event["outcome"] == "succeeded")
            #expect(
                event["summary"]
                    == [
                        "changes": [
                            "active_key": ["from": .string(first.keyID), "to": .string(second)]
                        ]
                    ]
            )
            // A provider event: organizations' auditors do not see it.
            let own = try await client.call(.get, "/v1/audit-events", token: try harness.token("auditor", org: "org-a"))
            #expect(!AuditEventTests.actions(own).contains("signing-key.rotate"))

            // No part of either key's private half, sealed or not, is in the audit table.
            let everything = try await Self.auditTable(harness)
            let rows = try await harness.pool.query("SELECT private_key_sealed FROM signing_keys")
            #expect(rows.count == 2)
            for row in rows {
                let sealed = try row.decode([UInt8].self, "private_key_sealed")
                let pem = String(decoding: try harness.sealer.open(sealed), as: UTF8.self)
                let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }
                #expect(!body.isEmpty)
                for line in body { #expect(!everything.contains(line)) }
                #expect(!everything.contains(sealed.map { String(format: "%02x", $0) }.joined()))
            }
            #expect(!everything.contains("PRIVATE KEY"))
        }
    }
}
