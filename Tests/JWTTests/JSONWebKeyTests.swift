import Foundation
import JWT
import Testing

@Suite struct JSONWebKeyTests {
    let ec: JWTSigningKey
    let rsa: JWTSigningKey
    let ed: JWTSigningKey

    init() throws {
        ec = try GeneratedKeys.key(for: .ES256)
        rsa = try GeneratedKeys.key(for: .RS256)
        ed = try GeneratedKeys.key(for: .EdDSA)
    }

    func modified(_ jwk: [String: JSONValue], _ changes: [String: JSONValue?]) -> [String: JSONValue] {
        var copy = jwk
        for (name, value) in changes { copy[name] = value }
        return copy
    }

    func flippingLastByte(_ member: String, of jwk: [String: JSONValue]) throws -> [String: JSONValue] {
        var bytes = try Base64URL.decode(try #require(jwk[member]?.stringValue))
        bytes[bytes.count - 1] ^= 0x01
        return modified(jwk, [member: .string(Base64URL.encode(bytes))])
    }

    @Test func refusesBadKeys() throws {
        let x = try Base64URL.decode(try #require(ec.publicJWK["x"]?.stringValue))
        let refused: [(String, [String: JSONValue])] = [
            ("private d", modified(ec.publicJWK, ["d": "AAAA"])),
            ("oct", ["kty": "oct", "k": .string(Base64URL.encode(SecureRandom.bytes(32)))]),
            ("use enc", modified(ec.publicJWK, ["use": "enc"])),
            ("key_ops", modified(ec.publicJWK, ["key_ops": ["encrypt"]])),
            ("unknown alg", modified(ec.publicJWK, ["alg": "ES512"])),
            ("alg HS256", modified(ec.publicJWK, ["alg": "HS256"])),
            ("alg of other key type", modified(ec.publicJWK, ["alg": "RS256"])),
            ("P-384 alg on P-256", modified(ec.publicJWK, ["alg": "ES384"])),
            ("off-curve point", try flippingLastByte("y", of: ec.publicJWK)),
            ("short x", modified(ec.publicJWK, ["x": .string(Base64URL.encode(x.dropFirst()))])),
            ("padded x", modified(ec.publicJWK, ["x": .string(Base64URL.encode([0] + x))])),
            ("wrong curve", modified(ec.publicJWK, ["crv": "P-384"])),
            ("secp256k1", modified(ec.publicJWK, ["crv": "secp256k1"])),
            ("missing y", modified(ec.publicJWK, ["y": nil])),
            ("non-canonical x", modified(ec.publicJWK, ["x": .string(Base64URL.encode(x) + "=")])),
            ("X25519", modified(ed.publicJWK, ["crv": "X25519", "alg": nil])),
            ("short Ed25519", modified(ed.publicJWK, ["x": "AAAA"])),
            ("even modulus", try flippingLastByte("n", of: rsa.publicJWK)),
            ("exponent 1", modified(rsa.publicJWK, ["e": "AQ"])),
            ("even exponent", modified(rsa.publicJWK, ["e": "AQAA"])),
            ("1024-bit", modified(rsa.publicJWK, ["n": .string(Base64URL.encode([0xC5] + SecureRandom.bytes(126) + [0x01]))])),
            ("no kty", modified(rsa.publicJWK, ["kty": nil])),
            ("kid number", modified(rsa.publicJWK, ["kid": 1])),
        ]
        for (label, jwk) in refused {
            #expect(throws: JWTError.self, "\(label)") { try JSONWebKey(json: jwk) }
        }
    }

    @Test func allowsOneAlgorithmFamilyPerKey() throws {
        let rsaNoAlg = try JSONWebKey(json: modified(rsa.publicJWK, ["alg": nil]))
        let ecNoAlg = try JSONWebKey(json: modified(ec.publicJWK, ["alg": nil]))
        let ec384 = try JSONWebKey(json: modified(try GeneratedKeys.key(for: .ES384).publicJWK, ["alg": nil]))
        let edNoAlg = try JSONWebKey(json: modified(ed.publicJWK, ["alg": nil]))
        for alg in JWSAlgorithm.allCases {
            #expect(rsaNoAlg.allows(alg) == (alg.rawValue.hasPrefix("RS") || alg.rawValue.hasPrefix("PS")))
            #expect(ecNoAlg.allows(alg) == (alg == .ES256))
            #expect(ec384.allows(alg) == (alg == .ES384))
            #expect(edNoAlg.allows(alg) == (alg == .EdDSA))
            #expect(rsa.verificationKey.allows(alg) == (alg == .RS256))
        }
        #expect(rsaNoAlg.keyType == "RSA" && ecNoAlg.keyType == "EC" && edNoAlg.keyType == "OKP")
        #expect(rsa.verificationKey.keyID == rsa.keyID && rsa.verificationKey.algorithm == .RS256)
    }

    @Test func keySetSkipsUnusableKeysAndCountsThem() throws {
        let document: JSONValue = [
            "keys": [
                .object(ec.publicJWK), .object(rsa.publicJWK), .object(modified(ec.publicJWK, ["d": "AAAA", "kid": "private"])),
                ["kty": "oct", "k": "AAAA", "kid": "sym"], .object(modified(rsa.publicJWK, ["e": "AQ"])), "not a key",
                ["kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"],
            ]
        ]
        let set = try JSONWebKeySet(data: JSONCoding.encode(document))
        #expect(set.keys.count == 2)
        #expect(set.skippedKeyCount == 5)
        #expect(set.skippedKeyReasons.count == 5)
        #expect(set.key(id: ec.keyID).count == 1)
        #expect(set.key(id: "private").isEmpty)
        #expect(set.key(id: nil).count == 2)
        #expect(throws: JWTError.self) { try JSONWebKeySet(data: Array(#"{"keys":{}}"#.utf8)) }
        #expect(throws: JWTError.self) { try JSONWebKeySet(data: Array(#"{"keys":[],"keys":[]}"#.utf8)) }
        #expect(throws: JWTError.self) { try JSONWebKeySet(data: Array("[]".utf8)) }
        #expect(try JSONWebKeySet(data: Array(#"{"keys":[]}"#.utf8)).keys.isEmpty)
    }
}
