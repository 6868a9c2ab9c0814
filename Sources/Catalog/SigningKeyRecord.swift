public import Foundation

/// One of Provisioner's own signing keys as the catalog keeps it: the public
/// JWK in clear, the private key sealed under the master key.
public struct SigningKeyRecord: Sendable, Equatable {
    public var keyID: String
    public var algorithm: String
    /// The public JWK, as JSON text.
    public var publicJWK: String
    /// The PKCS#8 PEM of the private key, sealed (AES-256-GCM) under the master key.
    public var privateKeySealed: [UInt8]
    public var createdAt: Date
    /// When the key stopped signing; `nil` for the active key.
    public var retiredAt: Date?

    public init(
        keyID: String, algorithm: String, publicJWK: String, privateKeySealed: [UInt8], createdAt: Date = Date(),
        retiredAt: Date? = nil
    ) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicJWK = publicJWK
        self.privateKeySealed = privateKeySealed
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}
