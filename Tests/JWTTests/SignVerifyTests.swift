import Foundation
import JWT
import Testing

/// Keys are generated once per test run (RSA generation is slow) and shared.
enum GeneratedKeys {
    static let rsa: Result<JWTSigningKey, JWTError> = Result { () throws(JWTError) in
        try JWTSigningKey.generate(.RS256, keyID: "rsa-1")
    }
    static let es256 = Result { () throws(JWTError) in try JWTSigningKey.generate(.ES256, keyID: "ec-1") }
    static let es384 = Result { () throws(JWTError) in try JWTSigningKey.generate(.ES384, keyID: "ec-2") }
    static let ed25519 = Result { () throws(JWTError) in try JWTSigningKey.generate(.EdDSA, keyID: "ed-1") }

    /// A signing key for `algorithm`; RSA algorithms share one 3072-bit key
    /// re-read from its PEM, which also exercises `init(pem:)`.
    static func key(for algorithm: JWSAlgorithm) throws -> JWTSigningKey {
        switch algorithm {
        case .ES256: return try es256.get()
        case .ES384: return try es384.get()
        case .EdDSA: return try ed25519.get()
        case .RS256: return try rsa.get()
        default:
            let base = try rsa.get()
            return try JWTSigningKey(pem: base.privateKeyPEM, algorithm: algorithm, keyID: "rsa-\(algorithm.rawValue)")
        }
    }
}

@Suite struct SignVerifyTests {
    static let signable: [JWSAlgorithm] = JWSAlgorithm.allCases.filter { $0 != .HS256 }

    @Test(arguments: signable)
    func roundTrips(algorithm: JWSAlgorithm) throws {
        let key = try GeneratedKeys.key(for: algorithm)
        #expect(key.algorithm == algorithm)
        #expect(key.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(key.publicJWK["d"] == nil)
        #expect(key.publicJWK["use"] == "sig")
        #expect(key.publicJWK["alg"] == .string(algorithm.rawValue))
        let token = try key.sign(claims: TestSupport.claims(["roles": ["org-admin", "auditor"], "org": "acme"]))
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        let header = try JSONCoding.decode(Base64URL.decode(parts[0]))
        #expect(header == ["alg": .string(algorithm.rawValue), "typ": "JWT", "kid": .string(key.keyID)])
        if algorithm == .ES256 { #expect(try Base64URL.decode(parts[2]).count == 64) }
        if algorithm == .ES384 { #expect(try Base64URL.decode(parts[2]).count == 96) }
        if algorithm == .EdDSA { #expect(try Base64URL.decode(parts[2]).count == 64) }

        // Through the public JWK, as a JWKS consumer would see it.
        let jwks = JSONCoding.encode(["keys": [.object(key.publicJWK)]])
        let keySet = try JSONWebKeySet(data: jwks)
        #expect(keySet.keys.count == 1 && keySet.skippedKeyCount == 0)
        let verifier = JWTVerifier(keySet: keySet, configuration: TestSupport.configuration())
        let verified = try verifier.verify(token, now: TestSupport.now)
        #expect(verified.subject == "user-1")
        #expect(verified.issuer == TestSupport.issuer)
        #expect(verified.audience == [TestSupport.audience])
        #expect(verified.jwtID == "token-1")
        #expect(verified.stringArray("roles") == ["org-admin", "auditor"])
        #expect(verified.string("org") == "acme")
        #expect(verified.expiresAt.timeIntervalSince1970 == TestSupport.now.timeIntervalSince1970 + 600)
        #expect(verified.header["kid"] == .string(key.keyID))

        // Through verificationKey directly.
        let direct = JWTVerifier(
            keySet: JSONWebKeySet(keys: [key.verificationKey]), configuration: TestSupport.configuration())
        #expect(try direct.verify(token, now: TestSupport.now).subject == "user-1")

        // Re-reading the PEM gives the same public key.
        let reread = try JWTSigningKey(pem: key.privateKeyPEM, algorithm: algorithm, keyID: key.keyID)
        #expect(reread.publicJWK == key.publicJWK)

        // Every single-bit flip in the signature is rejected.
        let signature = try Base64URL.decode(parts[2])
        for position in stride(from: 0, to: signature.count, by: max(1, signature.count / 8)) {
            var tampered = signature
            tampered[position] ^= 0x01
            let forged = parts[0] + "." + parts[1] + "." + Base64URL.encode(tampered)
            #expect(throws: JWTError.badSignature) { try verifier.verify(forged, now: TestSupport.now) }
        }
    }

    @Test func hs256RoundTripsWithConfiguredSecret() throws {
        let secret = SecureRandom.bytes(32)
        let token = try JWTSigningKey.signHS256(
            secret: secret, header: ["alg": "HS256", "typ": "JWT"], payload: TestSupport.payload(TestSupport.claims()))
        let verifier = JWTVerifier(keySet: JSONWebKeySet(keys: []), configuration: TestSupport.configuration(hmacSecret: secret))
        #expect(try verifier.verify(token, now: TestSupport.now).subject == "user-1")
        var other = secret
        other[0] ^= 1
        let wrong = JWTVerifier(keySet: JSONWebKeySet(keys: []), configuration: TestSupport.configuration(hmacSecret: other))
        #expect(throws: JWTError.badSignature) { try wrong.verify(token, now: TestSupport.now) }
        let short = JWTVerifier(
            keySet: JSONWebKeySet(keys: []), configuration: TestSupport.configuration(hmacSecret: Array(secret.prefix(31))))
        #expect(throws: JWTError.unsupportedAlgorithm) { try short.verify(token, now: TestSupport.now) }
    }

    @Test func signingKeyRefusesMismatchedKeyTypes() throws {
        let ec = try GeneratedKeys.es256.get()
        #expect(throws: JWTError.self) { try JWTSigningKey(pem: ec.privateKeyPEM, algorithm: .RS256, keyID: "x") }
        #expect(throws: JWTError.self) { try JWTSigningKey(pem: ec.privateKeyPEM, algorithm: .ES384, keyID: "x") }
        #expect(throws: JWTError.self) { try JWTSigningKey(pem: ec.privateKeyPEM, algorithm: .EdDSA, keyID: "x") }
        #expect(throws: JWTError.unsupportedAlgorithm) { try JWTSigningKey.generate(.HS256, keyID: "x") }
        #expect(throws: JWTError.self) { try JWTSigningKey(pem: "not a pem", algorithm: .ES256, keyID: "x") }
    }

    @Test func verifiesConcurrently() async throws {
        let key = try GeneratedKeys.key(for: .ES256)
        let verifier = JWTVerifier(
            keySet: JSONWebKeySet(keys: [key.verificationKey]), configuration: TestSupport.configuration())
        let token = try key.sign(claims: TestSupport.claims())
        let accepted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<200 where (try? verifier.verify(token, now: TestSupport.now)) != nil { count += 1 }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(accepted == 1600)
    }
}
