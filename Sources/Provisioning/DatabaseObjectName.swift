import Catalog

/// Names of the roles and databases Provisioner creates on a shared PostgreSQL server: a prefix
/// and a short random id (`t_k3v9q2mx7a4d`), never derived from slugs, so two tenants with the
/// same slug (one deleted, one recreated, or in two organizations) never share a name.
///
/// Every name matches `^[a-z][a-z0-9_]{0,62}$`: at most 63 bytes (PostgreSQL's `NAMEDATALEN - 1`,
/// beyond which it silently truncates), lower case so it needs no quoting to be typed in `psql`,
/// and still always quoted by the code that sends it.
public enum DatabaseObjectName {
    /// Length of a generated id (``TenantDatabaseName/idLength`` of the catalog, which generates
    /// them): 60 random bits, so the chance of two ids colliding among a million is below one in a
    /// million; the catalog's unique names catch the rest.
    public static let idLength = TenantDatabaseName.idLength

    /// Longest id a name accepts (so that a prefixed name stays far below 63 bytes).
    public static let maximumIDLength = 32

    /// A new random id, from the catalog's one generator (``TenantDatabaseName/randomID()``).
    public static func randomID() -> String {
        TenantDatabaseName.randomID()
    }

    /// Whether `id` can follow a prefix: 1 to ``maximumIDLength`` characters of `a-z` and `0-9`.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return (1...maximumIDLength).contains(bytes.count)
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Whether `name` is one Provisioner would create: `^[a-z][a-z0-9_]{0,62}$`.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }

    /// The id after `prefix` in `name`, if `name` is `prefix` followed by a valid id.
    static func id(in name: String, prefix: String) -> String? {
        guard name.hasPrefix(prefix) else {
            return nil
        }
        let id = String(name.dropFirst(prefix.count))
        return isValidID(id) ? id : nil
    }
}
