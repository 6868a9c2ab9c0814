#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A token whose signature, header and registered claims were accepted.
public struct VerifiedJWT: Sendable {
    public let header: [String: JSONValue]
    public let claims: [String: JSONValue]
    public let issuer: String
    public let subject: String
    public let audience: [String]
    public let expiresAt: Date
    public let notBefore: Date?
    public let issuedAt: Date?
    public let jwtID: String?

    /// A string claim, or nil when absent or not a string.
    public func string(_ claim: String) -> String? {
        claims[claim]?.stringValue
    }

    /// An array-of-strings claim, or nil when absent, not an array, or when
    /// any element is not a string.
    public func stringArray(_ claim: String) -> [String]? {
        guard let elements = claims[claim]?.arrayValue else { return nil }
        var strings = [String]()
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard let text = element.stringValue else { return nil }
            strings.append(text)
        }
        return strings
    }
}

/// A JWS whose header and signature were accepted; no claim was checked.
package struct VerifiedJWS: Sendable {
    package let header: [String: JSONValue]
    package let payload: [UInt8]
    package let algorithm: JWSAlgorithm
    package let keyID: String?
}
