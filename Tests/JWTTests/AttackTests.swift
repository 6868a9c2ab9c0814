import Foundation
import JWT
import Testing

/// Hostile tokens: every one is correctly formed or signed where that
/// matters, so the refusal comes from the rule under test.
@Suite struct AttackTests {
    let ec: JWTSigningKey
    let rsa: JWTSigningKey
    let verifier: JWTVerifier

    init() throws {
        ec = try GeneratedKeys.key(for: .ES256)
        rsa = try GeneratedKeys.key(for: .RS256)
        verifier = JWTVerifier(
            keySet: JSONWebKeySet(keys: [ec.verificationKey, rsa.verificationKey]),
            configuration: TestSupport.configuration())
    }

    var payload: [UInt8] { TestSupport.payload(TestSupport.claims()) }

    func expect(_ error: JWTError, _ token: String, verifier: JWTVerifier? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, sourceLocation: sourceLocation) {
            try (verifier ?? self.verifier).verify(token, now: TestSupport.now)
        }
    }

    @Test func baselineVerifies() throws {
        #expect(try verifier.verify(ec.sign(claims: TestSupport.claims()), now: TestSupport.now).subject == "user-1")
    }

    @Test(arguments: ["none", "None", "NONE", "nOnE", "", "es256", "ES256 ", "HS512", "RS1", "ES512", "PS"])
    func unsupportedAlgorithmNamesAreRejected(alg: String) throws {
        let header: [String: JSONValue] = ["alg": .string(alg), "kid": .string(ec.keyID)]
        let unsigned = Base64URL.encode(JSONCoding.encode(.object(header))) + "." + Base64URL.encode(payload)
        expect(.unsupportedAlgorithm, unsigned + ".")
        // Even carrying a genuine signature of the same input.
        let signed = try ec.signJWS(header: header, payload: payload)
        expect(.unsupportedAlgorithm, signed)
    }

    @Test func missingOrNonStringAlgIsRejected() throws {
        expect(.unsupportedAlgorithm, try ec.signJWS(header: ["kid": .string(ec.keyID)], payload: payload))
        expect(.unsupportedAlgorithm, try ec.signJWS(header: ["alg": 1, "kid": .string(ec.keyID)], payload: payload))
        expect(.unsupportedAlgorithm, try ec.signJWS(header: ["alg": ["ES256"], "kid": .string(ec.keyID)], payload: payload))
    }

    /// The public key's encodings an attacker could use as an HMAC secret.
    func publicKeyEncodings(of key: JWTSigningKey) throws -> [[UInt8]] {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("key.pem")
        try Data(key.privateKeyPEM.utf8).write(to: keyFile)
        let pem = try TestSupport.run(["openssl", "pkey", "-in", keyFile.path, "-pubout"])
        let der = try TestSupport.run(["openssl", "pkey", "-in", keyFile.path, "-pubout", "-outform", "DER"])
        let jwk = JSONCoding.encode(.object(key.publicJWK))
        var encodings = [pem, der, jwk, Array(pem.dropLast())]  // with and without the final newline
        if let x = key.publicJWK["x"]?.stringValue { encodings.append(try Base64URL.decode(x)) }
        if let n = key.publicJWK["n"]?.stringValue { encodings.append(try Base64URL.decode(n)) }
        return encodings
    }

    @Test func hs256WithPublicKeyAsSecretIsRejected() throws {
        for key in [ec, rsa] {
            for secret in try publicKeyEncodings(of: key) {
                for header: [String: JSONValue] in [["alg": "HS256", "kid": .string(key.keyID)], ["alg": "HS256"]] {
                    let token = try JWTSigningKey.signHS256(secret: secret, header: header, payload: payload)
                    // No secret configured: HS256 is not accepted at all.
                    expect(.unsupportedAlgorithm, token)
                    // A secret configured: only that secret counts, never the JWKS key.
                    let configured = JWTVerifier(
                        keySet: verifier.keySet, configuration: TestSupport.configuration(hmacSecret: SecureRandom.bytes(32)))
                    expect(.badSignature, token, verifier: configured)
                }
            }
        }
    }

    func es256Token(signature: [UInt8]) -> String {
        let header: [String: JSONValue] = ["alg": "ES256", "kid": .string(ec.keyID)]
        return Base64URL.encode(JSONCoding.encode(.object(header))) + "." + Base64URL.encode(payload) + "."
            + Base64URL.encode(signature)
    }

    @Test func degenerateECDSASignaturesAreRejected() throws {
        let n: [UInt8] = [
            0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
        ]
        let valid = try Base64URL.decode(try #require(ec.sign(claims: TestSupport.claims()).split(separator: ".").last))
        let r = Array(valid[..<32])
        let s = Array(valid[32...])
        let zero = [UInt8](repeating: 0, count: 32)
        var nPlusOne = n
        nPlusOne[31] += 1
        let cases: [[UInt8]] = [
            zero + zero, r + zero, zero + s, n + s, r + n, n + n, nPlusOne + s,
            [UInt8](repeating: 0xFF, count: 64), r + s + [0], [0] + r + s, Array((r + s).dropLast()), [], r,
        ]
        for signature in cases {
            expect(.badSignature, es256Token(signature: signature))
        }
        // A DER signature where r||s is expected is refused as well.
        expect(.badSignature, es256Token(signature: [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))
    }

    @Test func algorithmMustFitTheKey() throws {
        // An RSA signature presented with the EC key's kid, and the reverse.
        expect(.algorithmKeyMismatch, try rsa.signJWS(header: ["alg": "RS256", "kid": .string(ec.keyID)], payload: payload))
        expect(.algorithmKeyMismatch, try ec.signJWS(header: ["alg": "ES256", "kid": .string(rsa.keyID)], payload: payload))
        // The RSA JWK says alg RS256: PS256 with the same key is refused.
        let pss = try JWTSigningKey(pem: rsa.privateKeyPEM, algorithm: .PS256, keyID: rsa.keyID)
        expect(.algorithmKeyMismatch, try pss.sign(claims: TestSupport.claims()))
        // Without kid every key is a candidate, still only the fitting one counts.
        let noKid = try rsa.signJWS(header: ["alg": "RS256"], payload: payload)
        #expect(try verifier.verify(noKid, now: TestSupport.now).subject == "user-1")
        let es384 = try GeneratedKeys.key(for: .ES384)
        expect(.algorithmKeyMismatch, try es384.signJWS(header: ["alg": "ES384"], payload: payload))
        expect(.unknownKey, try ec.signJWS(header: ["alg": "ES256", "kid": "unknown"], payload: payload))
        let empty = JWTVerifier(keySet: JSONWebKeySet(keys: []), configuration: TestSupport.configuration())
        expect(.unknownKey, try ec.sign(claims: TestSupport.claims()), verifier: empty)
        expect(.malformed, try ec.signJWS(header: ["alg": "ES256", "kid": 7], payload: payload))
    }

    @Test(
        arguments: [
            ["b64"], ["exp"], [], ["unknown-extension"],
        ] as [JSONValue])
    func anyCritIsRejected(crit: JSONValue) throws {
        let token = try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID), "crit": crit, "b64": true], payload: payload)
        expect(.unknownCritical, token)
        expect(.unknownCritical, try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID), "crit": "exp"], payload: payload))
    }

    @Test(arguments: ["jku", "x5u", "jwk", "x5c"])
    func keyReferenceHeadersAreRejected(name: String) throws {
        let value: JSONValue = name == "jwk" ? .object(ec.publicJWK) : name == "x5c" ? ["MIIB"] : "https://attacker.example/keys"
        let token = try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID), .init(name): value], payload: payload)
        expect(.forbiddenHeader(name), token)
    }

    @Test func typMustBeJWT() throws {
        for typ in ["JWT", "jwt", "at+jwt", "AT+JWT"] {
            let token = try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID), "typ": .string(typ)], payload: payload)
            #expect(try verifier.verify(token, now: TestSupport.now).subject == "user-1")
        }
        for typ: JSONValue in ["JOSE", "dpop+jwt", "", 1] {
            expect(.unsupportedType, try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID), "typ": typ], payload: payload))
        }
    }

    @Test func oversizedTokensAreRejectedBeforeParsing() throws {
        expect(.tokenTooLarge, String(repeating: "!", count: 8193))
        let big = try ec.sign(claims: TestSupport.claims(["padding": .string(String(repeating: "x", count: 8192))]))
        expect(.tokenTooLarge, big)
        var configuration = TestSupport.configuration()
        configuration.maxTokenBytes = 16_384
        let larger = JWTVerifier(keySet: verifier.keySet, configuration: configuration)
        #expect(try larger.verify(big, now: TestSupport.now).subject == "user-1")
        // Exactly at the limit is fine (the size check is <=).
        configuration.maxTokenBytes = big.utf8.count
        #expect(try JWTVerifier(keySet: verifier.keySet, configuration: configuration).verify(big, now: TestSupport.now).subject == "user-1")
    }

    @Test func nonCanonicalBase64URLIsRejected() throws {
        let token = try ec.sign(claims: TestSupport.claims())
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // 64 signature bytes encode to 86 characters: the last one carries 4 unused bits.
        let signature = parts[2]
        let last = try #require(signature.last)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let index = try #require(alphabet.firstIndex(of: last))
        let tweaked = String(signature.dropLast()) + String(alphabet[index | 1])
        expect(.malformed, parts[0] + "." + parts[1] + "." + tweaked)
        expect(.malformed, parts[0] + "=." + parts[1] + "." + signature)
        expect(.malformed, parts[0] + "." + parts[1] + "." + signature + "==")
        expect(
            .malformed, parts[0].replacingOccurrences(of: "_", with: "/").replacingOccurrences(of: "-", with: "+") + "+." + parts[1] + "." + signature
        )
        expect(.malformed, parts[0] + "." + parts[1] + " ." + signature)
        expect(.malformed, parts[0] + "." + parts[1])
        expect(.malformed, parts[0] + "." + parts[1] + "." + signature + ".")
        expect(.malformed, "")
        expect(.malformed, "..")
    }

    @Test func duplicateMembersAreRejected() throws {
        let duplicateHeader = Array(#"{"alg":"ES256","alg":"ES256","kid":"\#(ec.keyID)"}"#.utf8)
        expect(.malformed, try ec.signJWS(headerBytes: duplicateHeader, payload: payload))
        let duplicateClaims = Array(#"{"iss":"\#(TestSupport.issuer)","aud":"\#(TestSupport.audience)","sub":"a","sub":"b","exp":1900000000}"#.utf8)
        expect(.malformed, try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID)], payload: duplicateClaims))
        expect(.malformed, try ec.signJWS(headerBytes: Array("[]".utf8), payload: payload))
        expect(.malformed, try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID)], payload: Array("foo".utf8)))
        expect(.malformed, try ec.signJWS(header: ["alg": "ES256", "kid": .string(ec.keyID)], payload: Array("[1]".utf8)))
    }
}
