public import JWT

/// A generated password of a tenant or stack role. Its description is redacted, so it cannot
/// reach a log line or an error by interpolation; ``text`` is read only to seal it or to hand it
/// to libpq.
///
/// The caller seals a new password (``sealed(with:)``) and records it in the catalog *before*
/// creating the role, so a retried job uses the same password and the role's password is always
/// the one on record.
public struct DatabasePassword: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The password itself: 43 characters of base64url (256 random bits), which need no escaping
    /// in a connection string or a SQL literal (both are still escaped).
    public let text: String

    /// A new password from OpenSSL's DRBG.
    public static func generate() -> DatabasePassword {
        DatabasePassword(text: Base64URL.encode(SecureRandom.bytes(32)))
    }

    public init(text: String) {
        self.text = text
    }

    /// The password sealed with AES-256-GCM under the master key, for the catalog.
    public func sealed(with box: SecretBox) throws(JWTError) -> [UInt8] {
        try box.seal(Array(text.utf8))
    }

    /// The password sealed under `masterKey` (the 32 bytes of `PROVISIONER_MASTER_KEY_FILE`).
    public func sealed(masterKey: [UInt8]) throws(JWTError) -> [UInt8] {
        try sealed(with: SecretBox(key: masterKey))
    }

    /// A password read back from its sealed form; throws if it was not sealed under this key.
    public init(sealed: [UInt8], with box: SecretBox) throws(JWTError) {
        self.text = String(decoding: try box.open(sealed), as: UTF8.self)
    }

    /// A password read back from its sealed form under `masterKey`.
    public init(sealed: [UInt8], masterKey: [UInt8]) throws(JWTError) {
        try self.init(sealed: sealed, with: SecretBox(key: masterKey))
    }

    public var description: String { "DatabasePassword(<redacted>)" }

    public var debugDescription: String { description }
}
