import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

@testable import API

/// `PROVISIONER_JWKS` as a URL: a real loopback HTTP server serves the key
/// set, and the verifier fetches it through URLSession.
@Suite(.timeLimit(.minutes(3))) struct KeySetURLTests {
    static func claims(_ overrides: [String: JSONValue] = [:]) -> [String: JSONValue] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(TestHarness.issuer), "aud": .string(TestHarness.audience), "sub": "user-1",
            "roles": ["platform-admin"], "iat": .number(now), "exp": .number(now + 600),
        ]
        for (name, value) in overrides { claims[name] = value }
        return claims
    }

    static let configuration = JWTVerifierConfiguration(issuer: TestHarness.issuer, audience: TestHarness.audience)

    /// The issue's acceptance: 10,000 requests carrying random unknown `kid`s
    /// through the router cause at most 2 fetches (the start-up load and one
    /// refresh), and a valid token keeps working between them.
    @Test func unknownKeyFloodCausesAtMostTwoFetches() async throws {
        let key = try JWTSigningKey.generate(.ES256, keyID: "live-key")
        let server = KeySetServer()
        server.serve([key])
        try await server.run { base in
            let remote = try RemoteJSONWebKeySet(base + "/jwks.json", cooldown: .seconds(60))
            try await remote.load()
            let verifier = JWTVerifier(remoteKeySet: remote, configuration: Self.configuration)
            try await TestDatabase.withSchema(migrate: true, poolSize: 4) { pool, _ in
                let router = try Self.router(pool: pool, verifier: verifier)
                try await Application(router: router).test(.router) { client in
                    let valid = try key.sign(claims: Self.claims())
                    let rejected = Counter()
                    let accepted = Counter()
                    for batch in 0..<200 {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<50 {
                                let kid = Base64URL.encode(SecureRandom.bytes(12))
                                let token = try key.signJWS(
                                    header: ["alg": "ES256", "kid": .string(kid)], payload: JSONCoding.encode(.object(Self.claims())))
                                group.addTask {
                                    let response = try await client.call(.get, "/v1/regions", token: token)
                                    if response.status == .unauthorized { rejected.increment() }
                                }
                            }
                            if batch % 10 == 0 {
                                group.addTask {
                                    let response = try await client.call(.get, "/v1/regions", token: valid)
                                    if response.status == .ok { accepted.increment() }
                                }
                            }
                            try await group.waitForAll()
                        }
                    }
                    #expect(rejected.count == 10_000)
                    #expect(accepted.count == 20)
                }
            }
            #expect(server.keySetRequests <= 2, "fetches: \(server.keySetRequests)")
            #expect(remote.fetchCount == server.keySetRequests)
        }
    }

    /// A new key is picked up on its first token; refreshes are spaced by the
    /// cooldown; a failed, empty, oversized or broken document keeps the last
    /// good keys.
    @Test func refreshPicksUpNewKeysAndFailuresKeepTheLastGoodOnes() async throws {
        let first = try JWTSigningKey.generate(.ES256, keyID: "first")
        let second = try JWTSigningKey.generate(.EdDSA, keyID: "second")
        let third = try JWTSigningKey.generate(.RS256, keyID: "third")
        let server = KeySetServer()
        server.serve([first])
        try await server.run { base in
            // Long enough that the steps between two refreshes fit in it on a loaded machine.
            let cooldown = Duration.milliseconds(1500)
            let remote = try RemoteJSONWebKeySet(base + "/jwks.json", cooldown: cooldown)
            try await remote.load()
            let verifier = JWTVerifier(remoteKeySet: remote, configuration: Self.configuration)
            var tokens: [String: String] = [:]
            for key in [first, second, third] { tokens[key.keyID] = try key.sign(claims: Self.claims()) }
            let signed = tokens
            func verifies(_ key: JWTSigningKey) async -> Bool {
                guard let token = signed[key.keyID] else { return false }
                return (try? await verifier.verifyRefreshingKeys(token)) != nil
            }
            #expect(await verifies(first))
            #expect(server.keySetRequests == 1)

            // Rotation: the first unknown kid after the load refreshes at once.
            server.serve([first, second])
            #expect(await verifies(second))
            #expect(server.keySetRequests == 2)

            // Within the cooldown an unknown kid causes no fetch.
            server.serve([first, second, third])
            #expect(await verifies(third) == false)
            #expect(server.keySetRequests == 2)

            // Failing refreshes keep the last good keys, and each still starts a cooldown.
            let failures: [(HTTPResponse.Status, [UInt8])] = [
                (.internalServerError, Array(#"{"keys":[]}"#.utf8)),
                (.ok, Array(#"{"keys":[]}"#.utf8)),
                (.ok, Array("not json".utf8)),
                (.ok, Array(#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#.utf8)),
                (.ok, Array(#"{"keys":[],"pad":""#.utf8) + [UInt8](repeating: 0x61, count: 300_000) + Array(#""}"#.utf8)),
                (.movedPermanently, Array(#"{"keys":[]}"#.utf8)),
            ]
            var expectedFetches = 2
            for (status, body) in failures {
                try await Task.sleep(for: cooldown + .milliseconds(100))
                server.serve(status: status, body: body)
                #expect(await verifies(third) == false)
                expectedFetches += 1
                #expect(server.keySetRequests == expectedFetches, "\(status)")
                #expect(await verifies(first), "\(status)")
                #expect(await verifies(second), "\(status)")
                #expect(await verifies(third) == false)
                #expect(server.keySetRequests == expectedFetches, "cooldown after \(status)")
            }

            // Once the server is healthy again, the next refresh brings the new key.
            try await Task.sleep(for: cooldown + .milliseconds(100))
            server.serve([first, third])
            #expect(await verifies(third))
            #expect(await verifies(first))
            #expect(await verifies(second) == false)
            #expect(server.keySetRequests == expectedFetches + 1)
        }
    }

    @Test func slowServerTimesOutWithoutBlockingOtherWork() async throws {
        let key = try JWTSigningKey.generate(.ES256, keyID: "slow")
        let server = KeySetServer()
        server.serve([key])
        try await server.run { base in
            server.serve(
                status: .ok, body: JSONCoding.encode(["keys": [.object(key.publicJWK)]]), delay: .seconds(3))
            let remote = try RemoteJSONWebKeySet(base + "/jwks.json", timeout: .seconds(1))
            let started = ContinuousClock.now
            // Concurrent waiters: the fetch holds no cooperative thread, so a
            // ticker on the same pool keeps running while it is under way.
            // They tick until the fetch gives up (its 1 s timeout), about 100 times each on an
            // idle machine; two each is enough to show none was starved.
            let ticks = Counter()
            let fetchDone = Counter()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await #expect(throws: JWTError.self) { try await remote.load() }
                    fetchDone.increment()
                }
                for _ in 0..<8 {
                    group.addTask {
                        while fetchDone.count == 0, ContinuousClock.now - started < .seconds(5) {
                            ticks.increment()
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }
            }
            // The server answers after 3 s: the 1 s timeout cut the wait short.
            #expect(ContinuousClock.now - started < .milliseconds(2500))
            #expect(ticks.count >= 2 * 8, "every ticker kept running while the fetch was pending")
        }
    }

    static func router(pool: PostgresPool, verifier: JWTVerifier) throws -> Router<AppRequestContext> {
        let root = TestDatabase.repositoryRoot
        let dependencies = APIDependencies(
            pool: pool,
            migrator: Migrator(pool: pool, directory: root.appendingPathComponent("migrations"), logger: TestHarness.logger),
            verifier: verifier,
            sealer: try SecretBox(key: SecureRandom.bytes(32)),
            openAPIDocument: Array(try Data(contentsOf: root.appendingPathComponent("openapi/openapi.yaml"))),
            logger: TestHarness.logger
        )
        return buildRouter(dependencies).0
    }
}
