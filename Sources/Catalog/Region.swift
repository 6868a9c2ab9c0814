public import Foundation

/// Where stacks run: a base domain for hostnames, the GitOps path of its
/// cluster, and the shared PostgreSQL server of its shared tenants.
public struct Region: Sendable, Equatable {
    public var slug: String
    public var name: String
    public var baseDomain: String
    public var gitopsPath: String
    public var sharedStackCapacity: Int
    /// The sealed (AES-256-GCM) libpq URL of the shared server's admin role; never shown.
    public var sharedPostgresURLSealed: [UInt8]?
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public var sharedPostgresConfigured: Bool { sharedPostgresURLSealed != nil }

    public init(
        slug: String, name: String, baseDomain: String, gitopsPath: String, sharedStackCapacity: Int,
        sharedPostgresURLSealed: [UInt8]? = nil, version: Int64 = 1, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.slug = slug
        self.name = name
        self.baseDomain = baseDomain
        self.gitopsPath = gitopsPath
        self.sharedStackCapacity = sharedStackCapacity
        self.sharedPostgresURLSealed = sharedPostgresURLSealed
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
