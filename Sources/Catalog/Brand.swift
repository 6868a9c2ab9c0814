public import Foundation

/// A business unit, store banner or franchise of an organization.
public struct Brand: Sendable, Equatable {
    public var organization: String
    public var slug: String
    public var name: String
    /// A region slug, or `nil`.
    public var defaultRegion: String?
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        organization: String, slug: String, name: String, defaultRegion: String? = nil, version: Int64 = 1,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.organization = organization
        self.slug = slug
        self.name = name
        self.defaultRegion = defaultRegion
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
