/// The JWS algorithms this module verifies (RFC 7518 section 3, RFC 8037).
public enum JWSAlgorithm: String, Sendable, CaseIterable, Hashable {
    case RS256, RS384, RS512
    case PS256, PS384, PS512
    case ES256, ES384
    case EdDSA
    case HS256

    var hash: HashFunction? {
        switch self {
        case .RS256, .PS256, .ES256, .HS256: .sha256
        case .RS384, .PS384, .ES384: .sha384
        case .RS512, .PS512: .sha512
        case .EdDSA: nil
        }
    }

    var isRSA: Bool {
        switch self {
        case .RS256, .RS384, .RS512, .PS256, .PS384, .PS512: true
        default: false
        }
    }

    var isPSS: Bool {
        switch self {
        case .PS256, .PS384, .PS512: true
        default: false
        }
    }
}
