import JWT

/// Generates tenant database (and role) names: `t_` and 12 random lowercase base32 characters.
///
/// The same rule as `TenantDatabase.generate()` and `DatabaseObjectName.randomID()` of the
/// Provisioning module, which depends on Catalog and so cannot be imported here: the name a
/// create records is one `TenantDatabase(databaseName:)` accepts. The catalog's
/// `tenant_database_names` table makes each name unique forever.
public enum TenantDatabaseName {
    public static let prefix = "t_"
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    static let idLength = 12

    /// A new random name (OpenSSL's DRBG; 256 is a multiple of 32, so every character is equally likely).
    public static func generate() -> String {
        let bytes = SecureRandom.bytes(idLength)
        return prefix + String(decoding: bytes.map { alphabet[Int($0 % 32)] }, as: UTF8.self)
    }

    /// A short random id for names of stacks created by placement (same alphabet and length).
    static func randomID() -> String {
        String(generate().dropFirst(prefix.count))
    }
}
