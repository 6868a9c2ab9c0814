/// The PostgreSQL login role of one shared stack, `s_<id>`: the role its Odoo processes connect
/// as. It is granted membership in each of its tenants' roles (see ``TenantDatabaseProvisioner``).
public struct StackDatabaseRole: Sendable, Hashable, CustomStringConvertible {
    public static let prefix = "s_"

    /// The random id (see ``DatabaseObjectName``).
    public let id: String

    /// A stack role with a new random id.
    public static func generate() -> StackDatabaseRole {
        StackDatabaseRole(validID: DatabaseObjectName.randomID())
    }

    /// The role for a known id (e.g. read back from the catalog).
    public init(id: String) throws(TenantDatabaseError) {
        guard DatabaseObjectName.isValidID(id) else {
            throw .invalidName(id)
        }
        self.id = id
    }

    /// The role for a role name recorded earlier (`s_<id>`).
    public init(roleName: String) throws(TenantDatabaseError) {
        guard let id = DatabaseObjectName.id(in: roleName, prefix: Self.prefix) else {
            throw .invalidName(roleName)
        }
        self.id = id
    }

    private init(validID: String) {
        self.id = validID
    }

    /// `s_<id>`.
    public var roleName: String { Self.prefix + id }

    public var description: String { roleName }
}
