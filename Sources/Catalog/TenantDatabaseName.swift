import JWT

/// Generates tenant database (and role) names: `t_` and 12 random lowercase base32 characters.
///
/// The one generator of the random ids in database object names: the Provisioning module's
/// `DatabaseObjectName.randomID()` uses it too, so the name a create records is one
/// `TenantDatabase(databaseName:)` accepts. The catalog's `tenant_database_names` table makes
/// each name unique forever.
public enum TenantDatabaseName {
    public static let prefix = "t_"
    /// Characters of a generated id: lowercase RFC 4648 base32 (no 0, 1, 8, 9: no look-alikes).
    public static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    /// 12 base32 characters carry 60 random bits.
    public static let idLength = 12

    /// A new random name: ``prefix`` and ``randomID()``.
    public static func generate() -> String {
        prefix + randomID()
    }

    /// A new random id: ``idLength`` characters of ``alphabet`` from OpenSSL's DRBG (256 is a
    /// multiple of 32, so every character is equally likely). Also used in the names of stacks
    /// created by placement and of roles on shared servers.
    public static func randomID() -> String {
        let bytes = SecureRandom.bytes(idLength)
        return String(decoding: bytes.map { alphabet[Int($0 % 32)] }, as: UTF8.self)
    }
}
