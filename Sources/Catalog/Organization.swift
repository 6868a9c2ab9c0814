public import Foundation

/// A customer retail group, on a plan.
public struct Organization: Sendable, Equatable {
    public var slug: String
    public var name: String
    /// The plan's slug.
    public var plan: String
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        slug: String, name: String, plan: String, version: Int64 = 1, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.slug = slug
        self.name = name
        self.plan = plan
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
