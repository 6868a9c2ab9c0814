/// The PostgreSQL names of one shared tenant: its database `t_<id>` and the role `t_<id>` that
/// owns it (roles and databases are separate namespaces, so they may share the name).
///
/// Generated once, when the tenant is created, and recorded in the catalog; a tenant recreated
/// with the same slug gets a new id, so a dropped tenant's name is never used again.
public struct TenantDatabase: Sendable, Hashable, CustomStringConvertible {
    public static let prefix = "t_"

    /// The random id (see ``DatabaseObjectName``).
    public let id: String

    /// A tenant database with a new random id.
    public static func generate() -> TenantDatabase {
        TenantDatabase(validID: DatabaseObjectName.randomID())
    }

    /// The names for a known id (e.g. read back from the catalog).
    public init(id: String) throws(TenantDatabaseError) {
        guard DatabaseObjectName.isValidID(id) else {
            throw .invalidName(id)
        }
        self.id = id
    }

    /// The names for a database name recorded earlier (`t_<id>`).
    public init(databaseName: String) throws(TenantDatabaseError) {
        guard let id = DatabaseObjectName.id(in: databaseName, prefix: Self.prefix) else {
            throw .invalidName(databaseName)
        }
        self.id = id
    }

    private init(validID: String) {
        self.id = validID
    }

    /// The database: `t_<id>`.
    public var databaseName: String { Self.prefix + id }

    /// The login role that owns the database: `t_<id>`.
    public var roleName: String { Self.prefix + id }

    public var description: String { databaseName }

    /// The tenant role's `CONNECTION LIMIT` for a tenant size: the connections of tenant-scoped
    /// access (exports, BI tools, parallel restores). The shared stack's Odoo connects as the
    /// stack's role, so its connections do not count here. Nil for an unknown size.
    public static func connectionLimit(forSize size: String) -> Int? {
        switch size {
        case "xs": 3
        case "s": 5
        case "m": 10
        case "l": 20
        case "xl": 40
        default: nil
        }
    }
}
