public import Foundation

/// Which stacks a list shows: all of them for provider staff; for an organization's principal only
/// its dedicated stacks, and for a token confined to tenants only those tenants' stacks.
public struct StackListQuery: Sendable, Equatable {
    /// Only dedicated stacks of this organization (slug); `nil`: every stack.
    public var organization: String?
    /// Only stacks of these tenants (slugs); `nil`: no tenant confinement.
    public var tenants: [String]?
    /// The id of the last stack of the previous page.
    public var after: UUID?
    public var limit: Int

    public init(organization: String? = nil, tenants: [String]? = nil, after: UUID? = nil, limit: Int = 50) {
        self.organization = organization
        self.tenants = tenants
        self.after = after
        self.limit = limit
    }
}
