public import Foundation

/// Quota limits an organization is held to.
public struct Plan: Sendable, Equatable {
    public var slug: String
    public var name: String
    public var maxTenants: Int
    public var maxProductionTenants: Int
    public var maxDedicatedStacks: Int
    public var maxCPUMillicores: Int
    public var maxMemoryMiB: Int
    public var maxStorageGiB: Int
    public var allowedPlacements: [String]
    public var allowedSizes: [String]
    /// Region slugs; empty means every region.
    public var allowedRegions: [String]
    public var backupRetentionDays: Int
    public var version: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public static let placements = ["shared", "dedicated"]
    public static let sizes = ["s", "m", "l", "xl"]

    public init(
        slug: String, name: String, maxTenants: Int = 5, maxProductionTenants: Int = 1, maxDedicatedStacks: Int = 0,
        maxCPUMillicores: Int = 4000, maxMemoryMiB: Int = 8192, maxStorageGiB: Int = 100,
        allowedPlacements: [String] = ["shared"], allowedSizes: [String] = ["s", "m"], allowedRegions: [String] = [],
        backupRetentionDays: Int = 7, version: Int64 = 1, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.slug = slug
        self.name = name
        self.maxTenants = maxTenants
        self.maxProductionTenants = maxProductionTenants
        self.maxDedicatedStacks = maxDedicatedStacks
        self.maxCPUMillicores = maxCPUMillicores
        self.maxMemoryMiB = maxMemoryMiB
        self.maxStorageGiB = maxStorageGiB
        self.allowedPlacements = allowedPlacements
        self.allowedSizes = allowedSizes
        self.allowedRegions = allowedRegions
        self.backupRetentionDays = backupRetentionDays
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Rules that span fields.
    public func ruleViolations() -> [FieldError] {
        maxProductionTenants > maxTenants
            ? [FieldError(field: "max_production_tenants", message: "must not exceed max_tenants")] : []
    }
}
