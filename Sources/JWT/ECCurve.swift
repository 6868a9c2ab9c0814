/// The NIST curves used by ES256 and ES384, with what JOSE signatures need.
enum ECCurve: Sendable, Equatable {
    case p256
    case p384

    init?(jwkName: String) {
        switch jwkName {
        case "P-256": self = .p256
        case "P-384": self = .p384
        default: return nil
        }
    }

    /// Accepts the names OpenSSL reports from `EVP_PKEY_get_group_name`.
    init?(openSSLName: String) {
        switch openSSLName {
        case "P-256", "prime256v1", "secp256r1": self = .p256
        case "P-384", "secp384r1": self = .p384
        default: return nil
        }
    }

    var jwkName: String {
        switch self {
        case .p256: "P-256"
        case .p384: "P-384"
        }
    }

    var openSSLName: String {
        switch self {
        case .p256: "P-256"
        case .p384: "P-384"
        }
    }

    var algorithm: JWSAlgorithm {
        switch self {
        case .p256: .ES256
        case .p384: .ES384
        }
    }

    var coordinateLength: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        }
    }

    /// The group order n, big-endian.
    var order: [UInt8] {
        switch self {
        case .p256: Self.p256Order
        case .p384: Self.p384Order
        }
    }

    private static let p256Order: [UInt8] = orderBytes(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
    private static let p384Order: [UInt8] = orderBytes(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973")

    /// A group order written as lowercase hex in the source (an empty order accepts no signature).
    private static func orderBytes(_ text: String) -> [UInt8] {
        Hex.decode(text) ?? []
    }

    /// Converts a JOSE `r || s` signature into a DER `ECDSA-Sig-Value`,
    /// or nil when its length is wrong or r or s is outside [1, n-1].
    func derSignature(fromJOSE signature: [UInt8]) -> [UInt8]? {
        let width = coordinateLength
        guard signature.count == 2 * width else { return nil }
        let r = signature[0..<width]
        let s = signature[width...]
        guard isScalarInRange(r), isScalarInRange(s) else { return nil }
        let encodedR = Self.derInteger(r)
        let encodedS = Self.derInteger(s)
        // At most 2 * (2 + 49) = 102 content bytes: the short length form suffices.
        return [0x30, UInt8(encodedR.count + encodedS.count)] + encodedR + encodedS
    }

    /// 1 <= value <= n - 1, for a big-endian value of exactly the order's width.
    private func isScalarInRange(_ value: ArraySlice<UInt8>) -> Bool {
        guard value.contains(where: { $0 != 0 }) else { return false }
        return value.lexicographicallyPrecedes(order)
    }

    private static func derInteger(_ value: ArraySlice<UInt8>) -> [UInt8] {
        var content = Array(value.drop { $0 == 0 })
        if content.isEmpty { content = [0] }
        if let first = content.first, first & 0x80 != 0 { content.insert(0, at: 0) }
        return [0x02, UInt8(content.count)] + content
    }
}

/// `withUnsafeBytes` for closures with a typed `JWTError` (the standard
/// library's version is `rethrows`, which erases the error type).
func withRawBytes<Result>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JWTError) -> Result
) throws(JWTError) -> Result {
    let outcome: Swift.Result<Result, JWTError> = bytes.withUnsafeBytes { buffer in
        Swift.Result { () throws(JWTError) in try body(buffer) }
    }
    return try outcome.get()
}
