import Foundation
import JWT
import Testing

/// Tokens produced by other implementations (Python `cryptography`, the
/// `openssl` CLI) verify here, and tokens signed here verify there. Keys are
/// generated at test time; nothing private is checked in. The tools are
/// installed by scripts/ensure-deps.sh; a missing one fails these tests.

@Suite struct InteropTests {
    /// Generates a key per algorithm and signs the given claims; prints a JSON
    /// array of {alg, jwk, token}. With "verify", reads that array on stdin
    /// and prints one "ok"/"fail" per token.
    static let script = #"""
        import base64, json, sys
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
        from cryptography.exceptions import InvalidSignature

        def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        def unb64(text): return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        def int_bytes(value, length=None):
            length = length or (value.bit_length() + 7) // 8
            return value.to_bytes(length, "big")
        HASH = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}

        def rsa_padding(alg):
            h = HASH[alg[2:]]()
            if alg.startswith("PS"):
                return padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH), h
            return padding.PKCS1v15(), h

        def generate(alg):
            if alg[:2] in ("RS", "PS"):
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                numbers = key.public_key().public_numbers()
                jwk = {"kty": "RSA", "n": b64(int_bytes(numbers.n)), "e": b64(int_bytes(numbers.e))}
                def sign(data):
                    pad, h = rsa_padding(alg)
                    return key.sign(data, pad, h)
            elif alg in ("ES256", "ES384"):
                curve, size, h = (ec.SECP256R1(), 32, hashes.SHA256()) if alg == "ES256" else (ec.SECP384R1(), 48, hashes.SHA384())
                key = ec.generate_private_key(curve)
                numbers = key.public_key().public_numbers()
                jwk = {"kty": "EC", "crv": "P-256" if size == 32 else "P-384", "x": b64(int_bytes(numbers.x, size)), "y": b64(int_bytes(numbers.y, size))}
                def sign(data):
                    r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(h)))
                    return int_bytes(r, size) + int_bytes(s, size)
            else:
                key = ed25519.Ed25519PrivateKey.generate()
                raw = key.public_key().public_bytes_raw()
                jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
                sign = key.sign
            return jwk, sign

        def verify(alg, jwk, token):
            header, payload, signature = token.split(".")
            data, sig = (header + "." + payload).encode(), unb64(signature)
            try:
                if jwk["kty"] == "RSA":
                    pub = rsa.RSAPublicNumbers(int.from_bytes(unb64(jwk["e"]), "big"), int.from_bytes(unb64(jwk["n"]), "big")).public_key()
                    pad, h = rsa_padding(alg)
                    pub.verify(sig, data, pad, h)
                elif jwk["kty"] == "EC":
                    curve, h = (ec.SECP256R1(), hashes.SHA256()) if jwk["crv"] == "P-256" else (ec.SECP384R1(), hashes.SHA384())
                    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(unb64(jwk["x"]), "big"), int.from_bytes(unb64(jwk["y"]), "big"), curve).public_key()
                    half = len(sig) // 2
                    der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
                    pub.verify(der, data, ec.ECDSA(h))
                else:
                    ed25519.Ed25519PublicKey.from_public_bytes(unb64(jwk["x"])).verify(sig, data)
                return "ok"
            except InvalidSignature:
                return "fail"

        if sys.argv[1] == "generate":
            claims = json.loads(sys.argv[2])
            out = []
            for alg in sys.argv[3].split(","):
                jwk, sign = generate(alg)
                jwk["kid"] = "py-" + alg
                header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": jwk["kid"]}).encode())
                body = b64(json.dumps(claims).encode())
                token = header + "." + body + "." + b64(sign((header + "." + body).encode()))
                out.append({"alg": alg, "jwk": jwk, "token": token})
            print(json.dumps(out))
        else:
            for item in json.load(sys.stdin):
                print(verify(item["alg"], item["jwk"], item["token"]))
        """#

    static let algorithms: [JWSAlgorithm] = [.RS256, .RS384, .RS512, .PS256, .PS384, .PS512, .ES256, .ES384, .EdDSA]

    @Test
    func verifiesTokensSignedByPythonCryptography() throws {
        let claims = String(decoding: TestSupport.payload(TestSupport.claims()), as: UTF8.self)
        let output = try TestSupport.run(
            ["python3", "-c", Self.script, "generate", claims, Self.algorithms.map(\.rawValue).joined(separator: ",")])
        let items = try #require(try JSONCoding.decode(output).arrayValue)
        #expect(items.count == Self.algorithms.count)
        for item in items {
            let object = try #require(item.objectValue)
            let jwk = try #require(object["jwk"]?.objectValue)
            let token = try #require(object["token"]?.stringValue)
            let verifier = JWTVerifier(
                keySet: try JSONWebKeySet(data: JSONCoding.encode(["keys": [.object(jwk)]])),
                configuration: TestSupport.configuration())
            let verified = try verifier.verify(token, now: TestSupport.now)
            #expect(verified.subject == "user-1", "\(object["alg"] ?? .null)")
            // Python's json.dumps puts spaces after separators: the parser must accept whitespace.
            #expect(verified.header["typ"] == "JWT")
        }
    }

    @Test
    func pythonCryptographyVerifiesTokensSignedHere() throws {
        var items: [JSONValue] = []
        for algorithm in Self.algorithms {
            let key = try GeneratedKeys.key(for: algorithm)
            let token = try key.sign(claims: TestSupport.claims())
            items.append(["alg": .string(algorithm.rawValue), "jwk": .object(key.publicJWK), "token": .string(token)])
            // A tampered copy must fail there too, proving the check is real.
            var tampered = Array(token.utf8)
            let index = tampered.firstIndex(of: UInt8(ascii: ".")).map { $0 + 3 } ?? 3
            tampered[index] = tampered[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            items.append([
                "alg": .string(algorithm.rawValue), "jwk": .object(key.publicJWK), "token": .string(String(decoding: tampered, as: UTF8.self)),
            ])
        }
        let output = try TestSupport.run(["python3", "-c", Self.script, "verify"], input: JSONCoding.encode(.array(items)))
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        let expected = Self.algorithms.flatMap { _ in ["ok", "fail"] }
        #expect(lines == expected)
    }

    @Test(
        arguments: [
            (JWSAlgorithm.RS256, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
            (JWSAlgorithm.PS256, ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
            (JWSAlgorithm.ES256, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            (JWSAlgorithm.EdDSA, ["-algorithm", "ED25519"]),
        ])
    func readsOpenSSLKeysAndVerifiesOpenSSLSignatures(algorithm: JWSAlgorithm, options: [String]) throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let inputPath = directory.appendingPathComponent("input").path
        try TestSupport.run(["openssl", "genpkey"] + options + ["-out", keyPath])
        let pem = try String(contentsOfFile: keyPath, encoding: .utf8)
        let key = try JWTSigningKey(pem: pem, algorithm: algorithm, keyID: "cli")

        let header = Base64URL.encode(JSONCoding.encode(["alg": .string(algorithm.rawValue), "kid": "cli"]))
        let signingInput = header + "." + Base64URL.encode(TestSupport.payload(TestSupport.claims()))
        try Data(signingInput.utf8).write(to: URL(fileURLWithPath: inputPath))
        var signature: [UInt8]
        switch algorithm {
        case .EdDSA:
            signature = try TestSupport.run(["openssl", "pkeyutl", "-sign", "-inkey", keyPath, "-rawin", "-in", inputPath])
        case .PS256:
            signature = try TestSupport.run([
                "openssl", "dgst", "-sha256", "-sign", keyPath, "-sigopt", "rsa_padding_mode:pss", "-sigopt",
                "rsa_pss_saltlen:digest", inputPath,
            ])
        case .ES256:
            signature = try Self.joseSignature(der: try TestSupport.run(["openssl", "dgst", "-sha256", "-sign", keyPath, inputPath]))
        default:
            signature = try TestSupport.run(["openssl", "dgst", "-sha256", "-sign", keyPath, inputPath])
        }
        let token = signingInput + "." + Base64URL.encode(signature)
        let verifier = JWTVerifier(keySet: JSONWebKeySet(keys: [key.verificationKey]), configuration: TestSupport.configuration())
        #expect(try verifier.verify(token, now: TestSupport.now).subject == "user-1")
        // The PEM written back is PKCS#8 and openssl reads it.
        try Data(key.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: keyPath))
        #expect(try TestSupport.run(["openssl", "pkey", "-in", keyPath, "-noout"]).isEmpty)
    }

    /// DER ECDSA-Sig-Value (P-256) to JOSE r||s, written independently of the module.
    static func joseSignature(der: [UInt8]) throws -> [UInt8] {
        try #require(der.count > 8 && der[0] == 0x30 && Int(der[1]) == der.count - 2)
        var index = 2
        var output: [UInt8] = []
        for _ in 0..<2 {
            try #require(der[index] == 0x02)
            let length = Int(der[index + 1])
            let integer = der[(index + 2)..<(index + 2 + length)].drop { $0 == 0 }
            try #require(integer.count <= 32)
            output += [UInt8](repeating: 0, count: 32 - integer.count) + integer
            index += 2 + length
        }
        return output
    }
}
