import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Logging
import Postgres
import Synchronization
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct PartnerTokenTests {
    static let tokens = "/v1/organizations/org-a/tokens"

    /// Two organizations with a brand each, and org-a's admin token.
    @discardableResult
    static func seedTwoOrganizations(_ harness: TestHarness, _ client: some TestClientProtocol) async throws -> String {
        try await client.seed(harness, org: "org-a")
        let admin = try harness.token("platform-admin")
        try await client.call(.post, "/v1/organizations", token: admin, json: #"{"slug":"org-b","name":"B","plan":"basic"}"#)
        try await client.call(.post, "/v1/organizations/org-a/brands", token: admin, json: #"{"slug":"brand-a","name":"A"}"#)
        try await client.call(.post, "/v1/organizations/org-b/brands", token: admin, json: #"{"slug":"brand-b","name":"B"}"#)
        return try harness.token("org-admin", org: "org-a")
    }

    /// Mints a token and returns its reply; the test fails unless it is 201.
    @discardableResult
    static func mint(
        _ client: some TestClientProtocol, as minter: String, _ body: String = #"{"name":"POS vendor","scopes":["brands:read"]}"#,
        path: String = tokens, headers: [String: String] = [:]
    ) async throws -> (id: String, token: String, reply: TestResponse) {
        let reply = try await client.call(.post, path, token: minter, json: body, headers: headers)
        #expect(reply.status == .created, "\(reply.text)")
        let id = try #require(reply.object["id"]?.stringValue)
        let token = try #require(reply.object["token"]?.stringValue)
        return (id, token, reply)
    }

    static func claims(_ token: String) throws -> [String: JSONValue] {
        let parts = token.split(separator: ".")
        try #require(parts.count == 3)
        return try #require(try JSONCoding.decode(Base64URL.decode(parts[1])).objectValue)
    }

    static func header(_ token: String) throws -> [String: JSONValue] {
        try #require(try JSONCoding.decode(Base64URL.decode(token.split(separator: ".")[0])).objectValue)
    }

    @Test func partnerTokenReadsItsOrganizationsBrandsAndNothingElse() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let partner = try await Self.mint(client, as: orgAdmin).token

            let list = try await client.call(.get, "/v1/organizations/org-a/brands", token: partner)
            #expect(list.status == .ok)
            #expect(list.object["items"]?.arrayValue?.compactMap { $0.objectValue?["slug"]?.stringValue } == ["brand-a"])
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands/brand-a", token: partner).status == .ok)

            let writes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/v1/organizations/org-a/brands", #"{"slug":"new-brand","name":"X"}"#),
                (.patch, "/v1/organizations/org-a/brands/brand-a", #"{"name":"X"}"#),
                (.delete, "/v1/organizations/org-a/brands/brand-a", nil),
                (.patch, "/v1/organizations/org-a", #"{"name":"X"}"#),
                (.post, Self.tokens, #"{"name":"X","scopes":["brands:read"]}"#),
                (.get, Self.tokens, nil),
                (.get, "/v1/organizations/org-a", nil),
            ]
            for (method, path, body) in writes {
                let response = try await client.call(method, path, token: partner, json: body)
                #expect(response.status == .forbidden, "\(method) \(path)")
            }
            for path in ["/v1/organizations/org-b/brands", "/v1/organizations/org-b/brands/brand-b", "/v1/organizations/org-b"] {
                #expect(try await client.call(.get, path, token: partner).status == .notFound, "\(path)")
            }
            let others = try await client.call(.get, "/v1/organizations", token: partner)
            #expect(others.status == .forbidden)
        }
    }

    @Test func mintedTokenCarriesScopesOrganizationTenantsAndExpiryButNoRoles() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let before = Date()
            let (id, token, reply) = try await Self.mint(
                client, as: orgAdmin, #"{"name":"Logistics","scopes":["tenants:read","brands:read"],"tenants":["shop-one"]}"#
            )
            #expect(reply.headers[.location] == "\(Self.tokens)/\(id)")
            #expect(reply.object["name"] == "Logistics")
            #expect(reply.object["organization"] == "org-a")
            #expect(reply.object["scopes"] == ["tenants:read", "brands:read"])
            #expect(reply.object["tenants"] == ["shop-one"])
            #expect(reply.object["created_by"] == "user-org-admin")
            #expect(reply.object["last_used_at"] == .null)
            let expiresAt = try #require(reply.object["expires_at"]?.stringValue.flatMap(Timestamp.parse))
            #expect(abs(expiresAt.timeIntervalSince(before) - 30 * 86_400) < 5, "30 days by default")

            let claims = try Self.claims(token)
            #expect(claims["iss"] == .string(PartnerTokenAuthority.defaultIssuer))
            #expect(claims["aud"] == .string(TestHarness.audience))
            #expect(claims["jti"] == .string(id))
            #expect(claims["org"] == "org-a")
            #expect(claims["scope"] == "tenants:read brands:read")
            #expect(claims["tenants"] == ["shop-one"])
            #expect(claims["roles"] == nil)
            #expect(claims["exp"]?.doubleValue == expiresAt.timeIntervalSince1970)
            #expect(try Self.header(token)["alg"] == "ES256")
        }
    }

    @Test func revokedTokenIsRefusedOnTheNextRequestEvenWhenCached() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let (id, partner, _) = try await Self.mint(client, as: orgAdmin)
            // A second serve process on the same catalog, which has verified (and cached) the token too.
            let (_, otherRouter) = try TestHarness.make(pool: harness.pool)
            try await Application(router: otherRouter).test(.router) { other in
                for _ in 0..<2 {
                    #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
                    #expect(try await other.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
                }
                let revoked = try await client.call(.delete, "\(Self.tokens)/\(id)", token: orgAdmin)
                #expect(revoked.status == .noContent)
                for process in [client, other] as [any TestClientProtocol] {
                    let refused = try await process.call(.get, "/v1/organizations/org-a/brands", token: partner)
                    #expect(refused.status == .unauthorized)
                    #expect(refused.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
                }
            }
            let list = try await client.call(.get, Self.tokens, token: orgAdmin)
            #expect(list.object["items"] == [])
            #expect(try await client.call(.delete, "\(Self.tokens)/\(id)", token: orgAdmin).status == .notFound)
        }
    }

    @Test func tokensOfAnotherOrganizationAreNotFound() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let id = try await Self.mint(client, as: orgAdmin).id
            let otherAdmin = try harness.token("org-admin", org: "org-b")
            let cases: [(HTTPRequest.Method, String, String?)] = [
                (.get, Self.tokens, nil),
                (.post, Self.tokens, #"{"name":"X","scopes":["brands:read"]}"#),
                (.delete, "\(Self.tokens)/\(id)", nil),
            ]
            for (method, path, body) in cases {
                let response = try await client.call(method, path, token: otherAdmin, json: body)
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            let wrongPath = try await client.call(.delete, "/v1/organizations/org-b/tokens/\(id)", token: otherAdmin)
            #expect(wrongPath.status == .notFound)
            let admin = try harness.token("platform-admin")
            let missing = try await client.call(
                .post, "/v1/organizations/no-such-org/tokens", token: admin, json: #"{"name":"X","scopes":["brands:read"]}"#
            )
            #expect(missing.status == .notFound)
            let listed = try await client.call(.get, Self.tokens, token: admin)
            #expect(listed.object["items"]?.arrayValue?.count == 1)
        }
    }

    @Test(arguments: [
        (#"{"name":"X","scopes":["brands:write"]}"#, "brands:write beyond a scope-narrowed admin"),
        (#"{"name":"X","scopes":["regions:write"]}"#, "a staff scope"),
        (#"{"name":"X","scopes":["tokens:write"]}"#, "minting more tokens"),
        (#"{"name":"X","scopes":["brands:read","no:such"]}"#, "an unknown scope"),
        (#"{"name":"X","scopes":[]}"#, "no scope"),
        (#"{"name":"X"}"#, "scopes missing"),
    ])
    func scopesBeyondTheMintersRightsAreRefused(body: String, reason: String) async throws {
        try await TestHarness.run { harness, client in
            try await Self.seedTwoOrganizations(harness, client)
            let narrowed = try harness.token("org-admin", org: "org-a") { $0["scope"] = "tokens:write brands:read" }
            let response = try await client.call(.post, Self.tokens, token: narrowed, json: body)
            #expect(response.status == .unprocessableContent, "\(reason)")
            #expect(response.object["code"] == "validation_failed")
            let fields = (response.object["errors"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue }
            #expect(fields.contains("scopes"), "\(reason): \(response.text)")
        }
    }

    @Test func onlyAdminsMayMintAndStaffScopesAreNeverGranted() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seedTwoOrganizations(harness, client)
            for (role, org) in [("platform-operator", nil), ("org-operator", "org-a"), ("org-viewer", "org-a")] {
                let token = try harness.token(role, org: org)
                let response = try await client.call(
                    .post, Self.tokens, token: token, json: #"{"name":"X","scopes":["brands:read"]}"#
                )
                #expect(response.status == .forbidden, "\(role)")
            }
            let admin = try harness.token("platform-admin")
            let staffScope = try await client.call(
                .post, Self.tokens, token: admin, json: #"{"name":"X","scopes":["plans:write"]}"#
            )
            #expect(staffScope.status == .unprocessableContent)
            try await Self.mint(client, as: admin, #"{"name":"By staff","scopes":["brands:write","tenants:actions"]}"#)
        }
    }

    @Test func expiryIsAtMostNinetyDaysAhead() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let now = Date()
            let refused = [
                Timestamp.format(now.addingTimeInterval(91 * 86_400)),
                Timestamp.format(now.addingTimeInterval(90 * 86_400 + 3600)),
                Timestamp.format(now.addingTimeInterval(-3600)),
                "2026-02-30T00:00:00Z",
                "tomorrow",
            ]
            for expiry in refused {
                let response = try await client.call(
                    .post, Self.tokens, token: orgAdmin, json: #"{"name":"X","scopes":["brands:read"],"expires_at":"\#(expiry)"}"#
                )
                #expect(response.status == .unprocessableContent, "\(expiry)")
                #expect(response.object["errors"]?.arrayValue?.first?.objectValue?["field"] == "expires_at", "\(expiry)")
            }
            let ninetyDays = now.addingTimeInterval(90 * 86_400 - 10)
            let reply = try await Self.mint(
                client, as: orgAdmin,
                #"{"name":"X","scopes":["brands:read"],"expires_at":"\#(Timestamp.format(ninetyDays))"}"#
            ).reply
            let echoed = try #require(reply.object["expires_at"]?.stringValue.flatMap(Timestamp.parse))
            #expect(echoed.timeIntervalSince1970 == ninetyDays.timeIntervalSince1970.rounded(.down))
            // The same instant ten days ahead, written with a +02:00 offset.
            let tenDays = now.addingTimeInterval(10 * 86_400).timeIntervalSince1970.rounded(.down)
            let local = String(Timestamp.format(Date(timeIntervalSince1970: tenDays + 7200)).dropLast(5)) + "+02:00"
            let offset = try await Self.mint(
                client, as: orgAdmin, #"{"name":"Y","scopes":["brands:read"],"expires_at":"\#(local)"}"#
            ).reply
            #expect(offset.object["expires_at"]?.stringValue.flatMap(Timestamp.parse)?.timeIntervalSince1970 == tenDays)
        }
    }

    @Test func tokenValueAppearsOnlyInTheMintReply() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let (id, token, _) = try await Self.mint(client, as: orgAdmin, headers: ["Idempotency-Key": "mint-1"])
            let signature = String(token.split(separator: ".")[2])

            let list = try await client.call(.get, Self.tokens, token: orgAdmin)
            let items = try #require(list.object["items"]?.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?.objectValue?["id"] == .string(id))
            #expect(items.first?.objectValue?["token"] == nil)
            #expect(!list.text.contains(signature))

            // Nothing in the catalog holds the token: not the token row, not the idempotency record.
            let stored = try await harness.pool.query(
                """
                SELECT coalesce((SELECT string_agg(t::text, ' ') FROM partner_tokens t), '')
                    || coalesce((SELECT string_agg(convert_from(response_body, 'UTF8'), ' ') FROM idempotency_keys), '')
                    AS everything
                """
            )
            let everything = try #require(stored.first).decode(String.self, "everything")
            #expect(everything.contains(id))
            #expect(!everything.contains(signature))
            #expect(!everything.contains(String(token.split(separator: ".")[1])))

            // A replay gets a token again: the same claims (same jti), signed anew, never read back from storage.
            let replay = try await client.call(
                .post, Self.tokens, token: orgAdmin, json: #"{"name":"POS vendor","scopes":["brands:read"]}"#,
                headers: ["Idempotency-Key": "mint-1"]
            )
            #expect(replay.status == .created)
            #expect(replay.headers[.idempotentReplayed] == "true")
            let replayed = try #require(replay.object["token"]?.stringValue)
            #expect(try Self.claims(replayed) == Self.claims(token))
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: replayed).status == .ok)
            #expect(try await client.call(.get, Self.tokens, token: orgAdmin).object["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func tokenValueNeverReachesTheLogs() async throws {
        let captured = CapturedLogs()
        var logger = Logger(label: "test") { _ in captured.handler }
        logger.logLevel = .trace
        try await TestHarness.run(logger: logger) { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let (id, partner, _) = try await Self.mint(client, as: orgAdmin, headers: ["Idempotency-Key": "mint-logs"])
            try await client.call(.get, "/v1/organizations/org-a/brands", token: partner)
            try await client.call(.delete, "\(Self.tokens)/\(id)", token: orgAdmin)
            try await client.call(.get, "/v1/organizations/org-a/brands", token: partner)
            let lines = captured.lines
            #expect(lines.contains { $0.contains("partner token minted") && $0.contains(id) })
            #expect(lines.contains { $0.contains("partner token refused") })
            let signature = String(partner.split(separator: ".")[2])
            #expect(!lines.contains { $0.contains(signature) || $0.contains(partner) })
        }
    }

    @Test func signingKeyIsStoredSealedUnderTheMasterKey() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            try await Self.mint(client, as: orgAdmin)
            let rows = try await harness.pool.query("SELECT private_key_sealed FROM signing_keys")
            #expect(rows.count == 1)
            let sealed = try #require(rows.first).decode([UInt8].self, "private_key_sealed")
            #expect(!String(decoding: sealed, as: UTF8.self).contains("PRIVATE KEY"))
            #expect(String(decoding: try harness.sealer.open(sealed), as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        }
    }

    @Test func keySetIsPublishedWithoutAuthenticationAndWithoutPrivateParts() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let active = try await PartnerSigningKeys(pool: harness.pool, sealer: harness.sealer).ensureActive()
            let token = try await Self.mint(client, as: orgAdmin).token

            let response = try await client.call(.get, "/.well-known/jwks.json", token: nil)
            #expect(response.status == .ok)
            let keys = (response.object["keys"]?.arrayValue ?? []).compactMap { $0.objectValue }
            #expect(keys.map { $0["kid"] } == [.string(active.keyID)])
            for key in keys {
                #expect(key["kty"] == "EC")
                #expect(key["crv"] == "P-256")
                #expect(key["use"] == "sig")
                for member in ["d", "p", "q", "dp", "dq", "qi", "k"] { #expect(key[member] == nil) }
            }
            // The published set alone verifies the partner token.
            let verifier = JWTVerifier(
                keySet: try JSONWebKeySet(data: Array(buffer: response.body)),
                configuration: JWTVerifierConfiguration(issuer: PartnerTokenAuthority.defaultIssuer, audience: TestHarness.audience)
            )
            #expect(try verifier.verify(token).jwtID != nil)
        }
    }

    @Test func rotationKeepsTheOldKeyPublishedWhileItsTokensLive() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let keys = PartnerSigningKeys(pool: harness.pool, sealer: harness.sealer)
            let first = try await keys.ensureActive().keyID
            let (oldID, oldToken, oldReply) = try await Self.mint(client, as: orgAdmin)
            #expect(try Self.header(oldToken)["kid"] == .string(first))

            let (second, retired) = try await keys.rotate(audit: AuditContext(actor: .commandLine(user: "ops"), requestID: nil))
            #expect(retired == first)
            let (_, newToken, newReply) = try await Self.mint(client, as: orgAdmin)
            #expect(try Self.header(newToken)["kid"] == .string(second), "new tokens use the new key at once")

            let jwks = try await client.call(.get, "/.well-known/jwks.json", token: nil)
            let kids = Set((jwks.object["keys"]?.arrayValue ?? []).compactMap { $0.objectValue?["kid"]?.stringValue })
            #expect(kids == [first, second])
            for token in [oldToken, newToken] {
                #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: token).status == .ok)
            }

            // Once the old key's last token has expired (or is revoked), the old key is no longer published.
            let store = SigningKeyStore(pool: harness.pool)
            let oldExpiry = try #require(oldReply.object["expires_at"]?.stringValue.flatMap(Timestamp.parse))
            let newExpiry = try #require(newReply.object["expires_at"]?.stringValue.flatMap(Timestamp.parse))
            #expect(try await Self.kids(store.published(at: oldExpiry.addingTimeInterval(-3600))) == [first, second])
            #expect(try await Self.kids(store.published(at: oldExpiry.addingTimeInterval(120))) == [second])
            #expect(newExpiry >= oldExpiry)
            #expect(try await client.call(.delete, "\(Self.tokens)/\(oldID)", token: orgAdmin).status == .noContent)
            #expect(try await Self.kids(store.published(at: Date())) == [second])
        }
    }

    static func kids(_ documents: [String]) throws -> Set<String> {
        Set(try documents.map { try #require(try JSONCoding.decode(Array($0.utf8)).objectValue?["kid"]?.stringValue) })
    }

    @Test func lastUseIsRecordedAtMostOncePerMinute() async throws {
        try await TestHarness.run { harness, client in
            let orgAdmin = try await Self.seedTwoOrganizations(harness, client)
            let (id, partner, _) = try await Self.mint(client, as: orgAdmin)
            func lastUsed() async throws -> JSONValue? {
                let list = try await client.call(.get, Self.tokens, token: orgAdmin)
                return list.object["items"]?.arrayValue?.first?.objectValue?["last_used_at"]
            }
            #expect(try await lastUsed() == .null)
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
            let first = try await lastUsed()
            #expect(first?.stringValue != nil)
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
            #expect(try await lastUsed() == first, "no second write within the minute")

            try await harness.pool.query(
                "UPDATE partner_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1", [id]
            )
            #expect(try await client.call(.get, "/v1/organizations/org-a/brands", token: partner).status == .ok)
            let later = try #require(try await lastUsed()?.stringValue.flatMap(Timestamp.parse))
            #expect(abs(later.timeIntervalSinceNow) < 30)
        }
    }

    @Test func tokensClaimingProvisionersIssuerMustBeSignedByItsKeys() async throws {
        try await TestHarness.run { harness, client in
            try await Self.seedTwoOrganizations(harness, client)
            // Signed by the external issuer's key, but claiming to be a partner token.
            let forged = try harness.token("org-admin", org: "org-a") { claims in
                claims["iss"] = .string(PartnerTokenAuthority.defaultIssuer)
                claims["jti"] = .string(UUID().uuidString.lowercased())
                claims["scope"] = "brands:read"
            }
            let response = try await client.call(.get, "/v1/organizations/org-a/brands", token: forged)
            #expect(response.status == .unauthorized)
        }
    }
}

/// Every log line (message and metadata) of a test, for inspection.
final class CapturedLogs: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] { storage.withLock { $0 } }

    func append(_ line: String) { storage.withLock { $0.append(line) } }

    var handler: Handler { Handler(sink: self) }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            sink.append("\(event.message) \(merged)")
        }
    }
}
