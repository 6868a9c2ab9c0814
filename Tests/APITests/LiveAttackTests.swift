import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import TestSupport
import Testing

@testable import API

/// Hostile tokens against the live HTTP service (a real socket), whose key
/// set comes from a loopback JWKS URL. Each is sent as a POST that would
/// create a region; each must be answered 401 with the `invalid_token`
/// challenge, and afterwards no region exists, the `jku` listener received
/// no request, and the key set was fetched at most twice.
@Suite(.timeLimit(.minutes(3))) struct LiveAttackTests {
    struct Attack: Sendable {
        let name: String
        let token: String
    }

    static func claims(_ overrides: [String: JSONValue?] = [:]) -> [String: JSONValue] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(TestHarness.issuer), "aud": .string(TestHarness.audience), "sub": "attacker",
            "roles": ["platform-admin"], "iat": .number(now), "exp": .number(now + 600),
        ]
        for (name, value) in overrides { claims[name] = value }
        return claims
    }

    /// The server's public key as PEM, DER and JWK bytes (what an HS256 confusion attack uses as the secret).
    static func publicKeyEncodings(_ key: JWTSigningKey) throws -> [(String, [UInt8])] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("key.pem")
        try Data(key.privateKeyPEM.utf8).write(to: keyFile)
        func openssl(_ arguments: [String]) throws -> [UInt8] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "openssl \(arguments)")
            return [UInt8](data)
        }
        let pem = try openssl(["pkey", "-in", keyFile.path, "-pubout"])
        let der = try openssl(["pkey", "-in", keyFile.path, "-pubout", "-outform", "DER"])
        return [("PEM", pem), ("DER", der), ("JWK", JSONCoding.encode(.object(key.publicJWK)))]
    }

    static func attacks(key: JWTSigningKey, jkuListener: String) throws -> [Attack] {
        let payload = JSONCoding.encode(.object(claims()))
        let kid: JSONValue = .string(key.keyID)
        func unsigned(_ header: [String: JSONValue], signature: String = "") -> String {
            Base64URL.encode(JSONCoding.encode(.object(header))) + "." + Base64URL.encode(payload) + "." + signature
        }
        var attacks: [Attack] = []
        for alg in ["none", "None", "NONE", "nOnE"] {
            attacks.append(Attack(name: "alg \(alg), no signature", token: unsigned(["alg": .string(alg), "kid": kid])))
            attacks.append(
                Attack(
                    name: "alg \(alg), genuine signature",
                    token: try key.signJWS(header: ["alg": .string(alg), "kid": kid], payload: payload)))
        }
        for (encoding, secret) in try publicKeyEncodings(key) {
            attacks.append(
                Attack(
                    name: "HS256 keyed with the public key \(encoding)",
                    token: try JWTSigningKey.signHS256(secret: secret, header: ["alg": "HS256", "kid": kid], payload: payload)))
        }
        attacks.append(
            Attack(
                name: "ES256 all-zero signature",
                token: unsigned(["alg": "ES256", "kid": kid], signature: Base64URL.encode([UInt8](repeating: 0, count: 64)))))
        let hostileKids: [(String, String)] = [
            ("SQL", "' OR '1'='1'; DROP TABLE regions; --"), ("path traversal", "../../../../etc/passwd"),
            ("NUL", "live-key\u{0}"), ("4 KiB", String(repeating: "k", count: 4096)),
        ]
        for (name, hostile) in hostileKids {
            attacks.append(
                Attack(
                    name: "kid carrying \(name)",
                    token: try key.signJWS(header: ["alg": "ES256", "kid": .string(hostile)], payload: payload)))
        }
        attacks.append(
            Attack(
                name: "jku to a loopback listener",
                token: try key.signJWS(header: ["alg": "ES256", "kid": kid, "jku": .string(jkuListener)], payload: payload)))
        attacks.append(
            Attack(
                name: "embedded jwk", token: try key.signJWS(header: ["alg": "ES256", "jwk": .object(key.publicJWK)], payload: payload)))
        attacks.append(
            Attack(
                name: "crit unknown",
                token: try key.signJWS(header: ["alg": "ES256", "kid": kid, "crit": ["x-unknown"], "x-unknown": 1], payload: payload)))
        attacks.append(
            Attack(name: "crit empty", token: try key.signJWS(header: ["alg": "ES256", "kid": kid, "crit": []], payload: payload)))
        let now = Date().timeIntervalSince1970.rounded(.down)
        let claimCases: [(String, [String: JSONValue?])] = [
            ("expired", ["exp": .number(now - 120)]),
            ("not yet valid", ["nbf": .number(now + 120)]),
            ("issued in the future", ["iat": .number(now + 120)]),
            ("without exp", ["exp": nil]),
            ("wrong issuer", ["iss": "https://attacker.example"]),
            ("wrong audience", ["aud": "someone-else"]),
            ("oversized", ["padding": .string(String(repeating: "p", count: 8192))]),
        ]
        for (name, overrides) in claimCases {
            attacks.append(Attack(name: name, token: try key.sign(claims: claims(overrides))))
        }
        return attacks
    }

    @Test func hostileTokensAreRefusedWithoutSideEffects() async throws {
        let key = try JWTSigningKey.generate(.ES256, keyID: "live-key")
        let keySetServer = KeySetServer()
        keySetServer.serve([key])
        let jkuListener = KeySetServer()
        try await keySetServer.run { keySetBase in
            try await jkuListener.run { jkuBase in
                let remote = try RemoteJSONWebKeySet(keySetBase + "/jwks.json")
                try await remote.load()
                let verifier = JWTVerifier(remoteKeySet: remote, configuration: KeySetURLTests.configuration)
                try await TestDatabase.withSchema(migrate: true, poolSize: 4) { pool, _ in
                    let router = try KeySetURLTests.router(pool: pool, verifier: verifier)
                    let application = Application(
                        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "provisioner"))
                    let attacks = try Self.attacks(key: key, jkuListener: jkuBase + "/jwks.json")
                    try await application.test(.live) { client in
                        for (index, attack) in attacks.enumerated() {
                            let response = try await client.call(
                                .post, "/v1/regions", token: attack.token,
                                json: #"{"slug":"attack-\#(index)","name":"Attack","base_domain":"attack.example.net"}"#,
                                headers: ["Idempotency-Key": "attack-\(index)"])
                            #expect(response.status == .unauthorized, "\(attack.name)")
                            #expect(response.headers[.wwwAuthenticate] == #"Bearer error="invalid_token""#, "\(attack.name)")
                            #expect(response.object["code"] == "unauthorized", "\(attack.name)")
                        }
                        let admin = try key.sign(claims: Self.claims(["sub": "admin"]))
                        let listed = try await client.call(.get, "/v1/regions", token: admin)
                        #expect(listed.status == .ok)
                        #expect(listed.object["items"] == [], "no attack created anything")
                        // The same request with a genuine token does create the region.
                        let created = try await client.call(
                            .post, "/v1/regions", token: admin,
                            json: #"{"slug":"attack-0","name":"Attack","base_domain":"attack.example.net"}"#,
                            headers: ["Idempotency-Key": "attack-0"])
                        #expect(created.status == .created)
                    }
                    #expect(attacks.count == 27)
                }
                #expect(jkuListener.requests == 0, "the jku listener was contacted")
                #expect(keySetServer.keySetRequests <= 2)
            }
        }
    }
}
