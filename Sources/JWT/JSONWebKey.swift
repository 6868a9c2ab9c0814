/// A public verification key from a JWK (RFC 7517), held as an OpenSSL key
/// parsed once at construction.
public final class JSONWebKey: Sendable {
    public let keyID: String?
    /// The JWK's `alg` member, when present.
    public let algorithm: JWSAlgorithm?
    /// `RSA`, `EC` or `OKP`.
    public let keyType: String

    let kind: Kind
    let key: EVPKey
    /// Reusable verification contexts per allowed algorithm (none for Ed25519).
    private let contexts: [JWSAlgorithm: VerifyContextPool]

    enum Kind: Sendable, Equatable {
        case rsa(modulusBytes: Int)
        case ec(ECCurve)
        case ed25519
    }

    /// Members that only private (or symmetric) JWKs carry.
    private static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]

    /// Parses a public JWK.
    ///
    /// Accepted: `RSA` (`n`, `e`; modulus 2048 to 16384 bits, odd public
    /// exponent >= 3), `EC` (`crv` P-256 or P-384, `x`/`y` of exactly the
    /// coordinate length, point on the curve) and `OKP` (`crv` Ed25519, 32-byte
    /// `x`). Refused: private members (`d`, ...), `oct` keys, `use` other than
    /// `sig`, `key_ops` without `verify`, and an `alg` that is unknown or does
    /// not fit the key.
    public init(json: [String: JSONValue]) throws(JWTError) {
        guard let keyType = json["kty"]?.stringValue else { throw .invalidKey("missing kty") }
        if keyType == "oct" { throw .invalidKey("symmetric keys are not accepted") }
        for member in Self.privateMembers where json[member] != nil {
            throw .invalidKey("private key material in a verification key")
        }
        if let use = json["use"] {
            guard use.stringValue == "sig" else { throw .invalidKey("use is not sig") }
        }
        if let operations = json["key_ops"] {
            guard let list = operations.arrayValue, list.contains(.string("verify")),
                list.allSatisfy({ $0.stringValue != nil })
            else { throw .invalidKey("key_ops does not allow verify") }
        }
        var keyID: String?
        if let kid = json["kid"] {
            guard let text = kid.stringValue else { throw .invalidKey("kid is not a string") }
            keyID = text
        }
        var algorithm: JWSAlgorithm?
        if let alg = json["alg"] {
            guard let name = alg.stringValue, let known = JWSAlgorithm(rawValue: name), known != .HS256 else {
                throw .invalidKey("unsupported alg")
            }
            algorithm = known
        }

        let kind: Kind
        let key: EVPKey
        switch keyType {
        case "RSA":
            let modulus = Self.strippingLeadingZeros(try Self.member("n", of: json))
            let exponent = Self.strippingLeadingZeros(try Self.member("e", of: json))
            guard modulus.count >= 256 else { throw .invalidKey("RSA modulus shorter than 2048 bits") }
            guard modulus.count <= 2048 else { throw .invalidKey("RSA modulus longer than 16384 bits") }
            guard let lastModulusByte = modulus.last, lastModulusByte & 1 == 1 else {
                throw .invalidKey("RSA modulus is even")
            }
            guard let lastExponentByte = exponent.last, exponent.count <= 8, lastExponentByte & 1 == 1,
                exponent.count > 1 || lastExponentByte >= 3
            else { throw .invalidKey("bad RSA public exponent") }
            key = try EVPKey.publicKey(
                type: "RSA", parameters: [.bigNumber("n", modulus), .bigNumber("e", exponent)])
            guard key.bits >= 2048 else { throw .invalidKey("RSA modulus shorter than 2048 bits") }
            kind = .rsa(modulusBytes: key.size)
        case "EC":
            guard let curveName = json["crv"]?.stringValue, let curve = ECCurve(jwkName: curveName) else {
                throw .invalidKey("unsupported curve")
            }
            let x = try Self.member("x", of: json)
            let y = try Self.member("y", of: json)
            guard x.count == curve.coordinateLength, y.count == curve.coordinateLength else {
                throw .invalidKey("wrong coordinate length")
            }
            key = try EVPKey.publicKey(
                type: "EC", parameters: [.text("group", curve.openSSLName), .octets("pub", [0x04] + x + y)])
            kind = .ec(curve)
        case "OKP":
            guard json["crv"]?.stringValue == "Ed25519" else { throw .invalidKey("unsupported curve") }
            let x = try Self.member("x", of: json)
            guard x.count == 32 else { throw .invalidKey("wrong Ed25519 key length") }
            key = try EVPKey.publicKey(type: "ED25519", parameters: [.octets("pub", x)])
            kind = .ed25519
        default:
            throw .invalidKey("unsupported kty")
        }
        if let algorithm, !Self.fits(algorithm, kind) { throw .invalidKey("alg does not fit the key") }
        self.keyID = keyID
        self.algorithm = algorithm
        self.keyType = keyType
        self.kind = kind
        self.key = key
        var contexts: [JWSAlgorithm: VerifyContextPool] = [:]
        for candidate in JWSAlgorithm.allCases where candidate != .EdDSA && candidate != .HS256 {
            if algorithm.map({ $0 == candidate }) ?? Self.fits(candidate, kind) {
                contexts[candidate] = VerifyContextPool(key: key, algorithm: candidate)
            }
        }
        self.contexts = contexts
    }

    /// One algorithm per key: the JWK's `alg` when it has one; otherwise the
    /// algorithms of the key type (RSA: RS*/PS*; P-256: ES256; P-384: ES384;
    /// Ed25519: EdDSA). HS256 is never allowed with a JWK.
    public func allows(_ alg: JWSAlgorithm) -> Bool {
        if let algorithm { return algorithm == alg }
        return Self.fits(alg, kind)
    }

    private static func fits(_ alg: JWSAlgorithm, _ kind: Kind) -> Bool {
        switch kind {
        case .rsa: alg.isRSA
        case .ec(let curve): alg == curve.algorithm
        case .ed25519: alg == .EdDSA
        }
    }

    private static func member(_ name: String, of json: [String: JSONValue]) throws(JWTError) -> [UInt8] {
        guard let text = json[name]?.stringValue else { throw .invalidKey("missing \(name)") }
        do {
            return try Base64URL.decode(text)
        } catch {
            throw .invalidKey("\(name) is not base64url")
        }
    }

    private static func strippingLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.drop { $0 == 0 })
    }

    /// The signature primitive alone: hashes `message` and checks `signature`
    /// (JOSE form: `r || s` for ECDSA) with OpenSSL. False when the key does
    /// not allow `algorithm` or the signature does not verify. For conformance
    /// vectors and benchmarks; tokens go through `JWTVerifier`.
    package func verifyPrimitive(algorithm: JWSAlgorithm, signature: [UInt8], message: [UInt8]) throws(JWTError) -> Bool {
        guard allows(algorithm) else { return false }
        return try withRawBytes(message) { buffer throws(JWTError) in
            try verify(algorithm: algorithm, signature: signature, message: buffer)
        }
    }

    /// Verifies a JWS signature over `message` (the ASCII `header.payload`).
    /// The caller has already checked `allows(algorithm)`.
    func verify(
        algorithm: JWSAlgorithm, signature: [UInt8], message: UnsafeRawBufferPointer
    ) throws(JWTError) -> Bool {
        switch kind {
        case .rsa(let modulusBytes):
            guard algorithm.isRSA, signature.count == modulusBytes, let pool = contexts[algorithm] else { return false }
            return try withRawBytes(signature) { signatureBuffer throws(JWTError) in
                try pool.verify(signature: signatureBuffer, message: message)
            }
        case .ec(let curve):
            guard algorithm == curve.algorithm, let der = curve.derSignature(fromJOSE: signature),
                let pool = contexts[algorithm]
            else { return false }
            return try withRawBytes(der) { signatureBuffer throws(JWTError) in
                try pool.verify(signature: signatureBuffer, message: message)
            }
        case .ed25519:
            guard algorithm == .EdDSA, signature.count == 64 else { return false }
            return try withRawBytes(signature) { signatureBuffer throws(JWTError) in
                try key.verify(signature: signatureBuffer, message: message, hash: nil, pss: false, rsa: false)
            }
        }
    }
}
