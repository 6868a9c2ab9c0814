/// Where a create put the tenant.
public struct TenantPlacement: Sendable, Equatable {
    /// The stack, as it is after the placement.
    public var stack: Stack
    /// Whether the create made this stack (a dedicated stack, or a shared stack that grew the pool).
    public var createdStack: Bool
    /// Tenants on the stack, this one included.
    public var tenantsOnStack: Int
    /// The most tenants the stack takes (1 for a dedicated stack).
    public var capacity: Int

    public init(stack: Stack, createdStack: Bool, tenantsOnStack: Int, capacity: Int) {
        self.stack = stack
        self.createdStack = createdStack
        self.tenantsOnStack = tenantsOnStack
        self.capacity = capacity
    }
}
