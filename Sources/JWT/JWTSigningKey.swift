/// A private key that signs JWTs (development tokens, partner tokens).
public final class JWTSigningKey: Sendable {
    public let algorithm: JWSAlgorithm
    public let keyID: String
    /// PKCS#8 PEM ("BEGIN PRIVATE KEY").
    public let privateKeyPEM: String
    /// `kty`, the key's public members, `kid`, `alg` and `use: "sig"`.
    public let publicJWK: [String: JSONValue]
    /// The public half, ready for a `JSONWebKeySet`.
    public let verificationKey: JSONWebKey

    private let key: EVPKey
    private let curve: ECCurve?
    private let encodedHeader: [UInt8]

    /// Generates a fresh key: P-256 for ES256, P-384 for ES384, Ed25519 for
    /// EdDSA, 3072-bit RSA for RS*/PS*. HS256 is not a key pair.
    public static func generate(_ algorithm: JWSAlgorithm = .ES256, keyID: String) throws(JWTError) -> JWTSigningKey {
        let key: EVPKey
        switch algorithm {
        case .ES256: key = try EVPKey.generate(type: "EC", ecGroup: "P-256")
        case .ES384: key = try EVPKey.generate(type: "EC", ecGroup: "P-384")
        case .EdDSA: key = try EVPKey.generate(type: "ED25519")
        case .RS256, .RS384, .RS512, .PS256, .PS384, .PS512: key = try EVPKey.generate(type: "RSA", rsaBits: 3072)
        case .HS256: throw .unsupportedAlgorithm
        }
        return try JWTSigningKey(key: key, algorithm: algorithm, keyID: keyID)
    }

    /// Reads a PKCS#8 private key PEM (unencrypted) whose type fits `algorithm`.
    public convenience init(pem: String, algorithm: JWSAlgorithm, keyID: String) throws(JWTError) {
        try self.init(key: EVPKey.privateKey(pem: pem), algorithm: algorithm, keyID: keyID)
    }

    private init(key: EVPKey, algorithm: JWSAlgorithm, keyID: String) throws(JWTError) {
        var jwk: [String: JSONValue] = [
            "kid": .string(keyID), "alg": .string(algorithm.rawValue), "use": "sig",
        ]
        var curve: ECCurve?
        switch algorithm {
        case .RS256, .RS384, .RS512, .PS256, .PS384, .PS512:
            guard key.isA("RSA") else { throw .invalidKey("not an RSA key") }
            guard key.bits >= 2048 else { throw .invalidKey("RSA modulus shorter than 2048 bits") }
            jwk["kty"] = "RSA"
            jwk["n"] = .string(Base64URL.encode(try key.bigNumberParameter("n")))
            jwk["e"] = .string(Base64URL.encode(try key.bigNumberParameter("e")))
        case .ES256, .ES384:
            guard key.isA("EC"), let keyCurve = ECCurve(openSSLName: try key.groupName()),
                keyCurve.algorithm == algorithm
            else { throw .invalidKey("not an EC key on the algorithm's curve") }
            let width = keyCurve.coordinateLength
            let point = try key.octetParameter("encoded-pub-key", maximumLength: 1 + 2 * width)
            guard point.count == 1 + 2 * width, point.first == 0x04 else {
                throw .invalidKey("unexpected EC point encoding")
            }
            jwk["kty"] = "EC"
            jwk["crv"] = .string(keyCurve.jwkName)
            jwk["x"] = .string(Base64URL.encode(point[1...width]))
            jwk["y"] = .string(Base64URL.encode(point[(width + 1)...]))
            curve = keyCurve
        case .EdDSA:
            guard key.isA("ED25519") else { throw .invalidKey("not an Ed25519 key") }
            jwk["kty"] = "OKP"
            jwk["crv"] = "Ed25519"
            jwk["x"] = .string(Base64URL.encode(try key.rawPublicKey()))
        case .HS256:
            throw .unsupportedAlgorithm
        }
        let header: JSONValue = ["alg": .string(algorithm.rawValue), "typ": "JWT", "kid": .string(keyID)]
        self.algorithm = algorithm
        self.keyID = keyID
        self.key = key
        self.curve = curve
        self.publicJWK = jwk
        self.verificationKey = try JSONWebKey(json: jwk)
        self.privateKeyPEM = try key.privateKeyPEM()
        self.encodedHeader = Array(Base64URL.encode(JSONCoding.encode(header)).utf8)
    }

    /// Signs `claims` as a compact JWT with header `{"alg","kid","typ":"JWT"}`.
    /// ECDSA signatures are emitted as fixed-width JOSE `r || s`.
    public func sign(claims: [String: JSONValue]) throws(JWTError) -> String {
        var signingInput = encodedHeader
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encode(JSONCoding.encode(.object(claims))).utf8)
        return try appendingSignature(to: signingInput)
    }

    private func appendingSignature(to signingInput: [UInt8]) throws(JWTError) -> String {
        var output = signingInput
        var signature = try key.sign(
            message: signingInput, hash: algorithm.hash, pss: algorithm.isPSS, rsa: algorithm.isRSA)
        if let curve {
            signature = try curve.joseSignature(fromDER: signature)
        }
        output.append(UInt8(ascii: "."))
        output.append(contentsOf: Base64URL.encode(signature).utf8)
        return String(decoding: output, as: UTF8.self)
    }
}

extension JWTSigningKey {
    /// Signs an arbitrary protected header and payload with this key. Not
    /// for production tokens: tests use it to build hostile tokens that are
    /// correctly signed.
    package func signJWS(header: [String: JSONValue], payload: [UInt8]) throws(JWTError) -> String {
        try signJWS(headerBytes: JSONCoding.encode(.object(header)), payload: payload)
    }

    /// Like `signJWS(header:payload:)` with the header's exact bytes (e.g. duplicate members).
    package func signJWS(headerBytes: [UInt8], payload: [UInt8]) throws(JWTError) -> String {
        var signingInput = Array(Base64URL.encode(headerBytes).utf8)
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encode(payload).utf8)
        return try appendingSignature(to: signingInput)
    }

    /// An HS256 JWS over `header` and `payload` with `secret` (tests only).
    package static func signHS256(
        secret: [UInt8], header: [String: JSONValue], payload: [UInt8]
    ) throws(JWTError) -> String {
        try signHS256(secret: secret, headerBytes: JSONCoding.encode(.object(header)), payload: payload)
    }

    package static func signHS256(
        secret: [UInt8], headerBytes: [UInt8], payload: [UInt8]
    ) throws(JWTError) -> String {
        let signingInput = Base64URL.encode(headerBytes) + "." + Base64URL.encode(payload)
        let tag = try withRawBytes(Array(signingInput.utf8)) { message throws(JWTError) in
            try HMACSHA256.authenticate(key: secret, message: message)
        }
        return signingInput + "." + Base64URL.encode(tag)
    }
}
