#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Verifies compact-serialized JWTs (RFC 7519) against a key set.
///
/// Header rules: `alg` must name a `JWSAlgorithm` exactly (HS256 only with
/// a configured secret); `jku`, `x5u`, `jwk`, `x5c` and any `crit` are
/// refused; `typ`, when present, is `JWT` or `at+jwt` (any case). Keys are
/// chosen by `kid` and must allow the header's `alg`. Claim rules: `exp`
/// required, `iss` equal to the configured issuer, `aud` containing the
/// configured audience, non-empty `sub`, `nbf`/`iat` checked with the leeway.
public struct JWTVerifier: Sendable {
    /// A fixed key set, or the keys a `RemoteJSONWebKeySet` holds now.
    public var keySet: JSONWebKeySet { remoteKeySet?.current ?? fixedKeySet }
    public let configuration: JWTVerifierConfiguration
    /// Set when the keys come from a URL; `verifyRefreshingKeys` refreshes them.
    public let remoteKeySet: RemoteJSONWebKeySet?
    private let fixedKeySet: JSONWebKeySet

    static let forbiddenHeaders = ["jku", "x5u", "jwk", "x5c"]

    public init(keySet: JSONWebKeySet, configuration: JWTVerifierConfiguration) {
        self.fixedKeySet = keySet
        self.remoteKeySet = nil
        self.configuration = configuration
    }

    /// Keys from a URL, refreshed by `verifyRefreshingKeys` (see `RemoteJSONWebKeySet`).
    public init(remoteKeySet: RemoteJSONWebKeySet, configuration: JWTVerifierConfiguration) {
        self.fixedKeySet = JSONWebKeySet(keys: [])
        self.remoteKeySet = remoteKeySet
        self.configuration = configuration
    }

    /// Verifies with the keys held now; never fetches.
    public func verify(_ token: some StringProtocol, now: Date = Date()) throws(JWTError) -> VerifiedJWT {
        try verify(token, keySet: keySet, now: now)
    }

    /// Like `verify`, and with a remote key set: refreshes the keys when they
    /// are older than their maximum age, and once more (cooldown permitting)
    /// when the token's `kid` is unknown, then verifies again. Only a token
    /// that passes the size, serialization and header rules can cause a fetch.
    public func verifyRefreshingKeys(_ token: some StringProtocol, now: Date = Date()) async throws(JWTError) -> VerifiedJWT {
        guard let remoteKeySet else { return try verify(token, keySet: fixedKeySet, now: now) }
        var keys = remoteKeySet.current
        if remoteKeySet.isStale, let refreshed = await remoteKeySet.refresh() { keys = refreshed }
        do {
            return try verify(token, keySet: keys, now: now)
        } catch .unknownKey {
            guard let refreshed = await remoteKeySet.refresh() else { throw .unknownKey }
            return try verify(token, keySet: refreshed, now: now)
        }
    }

    private func verify(_ token: some StringProtocol, keySet: JSONWebKeySet, now: Date) throws(JWTError) -> VerifiedJWT {
        let jws = try verifySignature(token, keySet: keySet)
        let claims: [String: JSONValue]
        do {
            guard let object = try JSONCoding.decode(jws.payload).objectValue else { throw JWTError.malformed }
            claims = object
        } catch {
            throw .malformed
        }
        return try checkClaims(claims, header: jws.header, now: now)
    }

    /// Checks the size, the serialization, the header and the signature,
    /// but no claim: the payload need not even be JSON. For conformance
    /// vectors (Wycheproof) and for callers with their own payload rules.
    package func verifySignature(_ token: some StringProtocol) throws(JWTError) -> VerifiedJWS {
        try verifySignature(token, keySet: keySet)
    }

    private func verifySignature(_ token: some StringProtocol, keySet: JSONWebKeySet) throws(JWTError) -> VerifiedJWS {
        guard token.utf8.count <= configuration.maxTokenBytes else { throw .tokenTooLarge }
        let bytes = Array(token.utf8)
        guard let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
            let secondDot = bytes[(firstDot + 1)...].firstIndex(of: UInt8(ascii: ".")),
            !bytes[(secondDot + 1)...].contains(UInt8(ascii: "."))
        else { throw .malformed }

        let headerBytes = try Base64URL.decode(bytes[..<firstDot])
        let header: [String: JSONValue]
        do {
            guard let object = try JSONCoding.decode(headerBytes).objectValue else { throw JWTError.malformed }
            header = object
        } catch {
            throw .malformed
        }
        let algorithm = try Self.checkHeader(header)
        var keyID: String?
        if let kid = header["kid"] {
            guard let text = kid.stringValue else { throw .malformed }
            keyID = text
        }
        let payload = try Base64URL.decode(bytes[(firstDot + 1)..<secondDot])
        let signature = try Base64URL.decode(bytes[(secondDot + 1)...])

        let verified: Bool = try withRawBytes(bytes) { tokenBuffer throws(JWTError) in
            let message = UnsafeRawBufferPointer(rebasing: tokenBuffer[..<secondDot])
            if algorithm == .HS256 {
                // Only the configured secret; a JWKS key is never an HMAC secret.
                guard let secret = configuration.usableHMACSecret else { throw .unsupportedAlgorithm }
                return try HMACSHA256.verify(key: secret, message: message, tag: signature)
            }
            let candidates = keySet.key(id: keyID)
            guard !candidates.isEmpty else { throw .unknownKey }
            var anyAllowed = false
            for key in candidates where key.allows(algorithm) {
                anyAllowed = true
                if try key.verify(algorithm: algorithm, signature: signature, message: message) {
                    return true
                }
            }
            guard anyAllowed else { throw .algorithmKeyMismatch }
            return false
        }
        guard verified else { throw .badSignature }
        return VerifiedJWS(header: header, payload: payload, algorithm: algorithm, keyID: keyID)
    }

    /// Returns the algorithm once the header passes every rule.
    static func checkHeader(_ header: [String: JSONValue]) throws(JWTError) -> JWSAlgorithm {
        guard let name = header["alg"]?.stringValue, let algorithm = JWSAlgorithm(rawValue: name) else {
            throw .unsupportedAlgorithm
        }
        for name in forbiddenHeaders where header[name] != nil {
            throw .forbiddenHeader(name)
        }
        if header["crit"] != nil { throw .unknownCritical }
        if let type = header["typ"] {
            guard let text = type.stringValue?.lowercased(), text == "jwt" || text == "at+jwt" else {
                throw .unsupportedType
            }
        }
        return algorithm
    }

    private func checkClaims(
        _ claims: [String: JSONValue], header: [String: JSONValue], now: Date
    ) throws(JWTError) -> VerifiedJWT {
        let leeway = configuration.leewaySeconds
        let current = now.timeIntervalSince1970

        guard let expValue = claims["exp"] else { throw .missingClaim("exp") }
        guard let exp = expValue.doubleValue else { throw .invalidClaim("exp") }
        let nbf = try Self.optionalNumber("nbf", in: claims)
        let iat = try Self.optionalNumber("iat", in: claims)

        guard let issuerValue = claims["iss"] else { throw .missingClaim("iss") }
        guard let issuer = issuerValue.stringValue else { throw .invalidClaim("iss") }
        guard issuer == configuration.issuer else { throw .wrongIssuer }

        guard let audienceValue = claims["aud"] else { throw .missingClaim("aud") }
        let audience: [String]
        switch audienceValue {
        case .string(let single):
            audience = [single]
        case .array(let elements):
            var list = [String]()
            for element in elements {
                guard let text = element.stringValue else { throw .invalidClaim("aud") }
                list.append(text)
            }
            audience = list
        default:
            throw .invalidClaim("aud")
        }
        guard audience.contains(configuration.audience) else { throw .wrongAudience }

        guard let subjectValue = claims["sub"] else { throw .missingClaim("sub") }
        guard let subject = subjectValue.stringValue, !subject.isEmpty else { throw .invalidClaim("sub") }

        var jwtID: String?
        if let jti = claims["jti"] {
            guard let text = jti.stringValue else { throw .invalidClaim("jti") }
            jwtID = text
        }

        guard exp + leeway > current else { throw .expired }
        if let nbf, nbf - leeway > current { throw .notYetValid }
        if let iat, iat - leeway > current { throw .issuedInFuture }

        return VerifiedJWT(
            header: header, claims: claims, issuer: issuer, subject: subject, audience: audience,
            expiresAt: Date(timeIntervalSince1970: exp), notBefore: nbf.map { Date(timeIntervalSince1970: $0) },
            issuedAt: iat.map { Date(timeIntervalSince1970: $0) }, jwtID: jwtID)
    }

    private static func optionalNumber(_ name: String, in claims: [String: JSONValue]) throws(JWTError) -> Double? {
        guard let value = claims[name] else { return nil }
        guard let number = value.doubleValue else { throw .invalidClaim(name) }
        return number
    }
}
