/// Why a token, key or JSON document was refused.
///
/// Reasons are short fixed strings; an error never carries the token itself,
/// key material or claim values, so it is safe to log.
public enum JWTError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Not three strict base64url parts, or a header/payload that is not a JSON object.
    case malformed
    /// Longer than `JWTVerifierConfiguration.maxTokenBytes`; checked before any parsing.
    case tokenTooLarge
    /// `alg` missing, not one of `JWSAlgorithm`, or HS256 without a configured secret.
    case unsupportedAlgorithm
    /// Keys match the `kid` but none of them allows the header's `alg`.
    case algorithmKeyMismatch
    /// No key in the set matches the token's `kid`.
    case unknownKey
    /// The signature does not verify.
    case badSignature
    /// The header has a `crit` member (no extensions are understood).
    case unknownCritical
    /// The header has a member that would make us fetch or trust key material from the token.
    case forbiddenHeader(String)
    /// `typ` is present and neither `JWT` nor `at+jwt`.
    case unsupportedType
    case expired
    case notYetValid
    case issuedInFuture
    case wrongIssuer
    case wrongAudience
    case missingClaim(String)
    /// A registered claim has the wrong JSON type or an unusable value.
    case invalidClaim(String)
    /// A JSON document was refused by the strict parser.
    case invalidJSON(String)
    /// A key (JWK, JWKS or PEM) was refused.
    case invalidKey(String)
    /// An OpenSSL call failed; the reason names the call.
    case opensslFailure(String)
    /// A remote key set could not be fetched or held no usable key; the reason is a fixed phrase.
    case keySetUnavailable(String)

    public var description: String {
        switch self {
        case .malformed: "malformed token"
        case .tokenTooLarge: "token too large"
        case .unsupportedAlgorithm: "unsupported algorithm"
        case .algorithmKeyMismatch: "algorithm does not match key"
        case .unknownKey: "unknown key"
        case .badSignature: "bad signature"
        case .unknownCritical: "unknown critical header"
        case .forbiddenHeader(let name): "forbidden header \(name)"
        case .unsupportedType: "unsupported token type"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .issuedInFuture: "token issued in the future"
        case .wrongIssuer: "wrong issuer"
        case .wrongAudience: "wrong audience"
        case .missingClaim(let name): "missing claim \(name)"
        case .invalidClaim(let name): "invalid claim \(name)"
        case .invalidJSON(let reason): "invalid JSON: \(reason)"
        case .invalidKey(let reason): "invalid key: \(reason)"
        case .opensslFailure(let call): "OpenSSL failure in \(call)"
        case .keySetUnavailable(let reason): "key set unavailable: \(reason)"
        }
    }
}
