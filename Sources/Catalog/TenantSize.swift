/// What one tenant of a size counts against its plan's CPU, memory and storage quotas.
///
/// The figures are the reservations of the size's profile in `Rendering/SizeProfile.swift`
/// (Catalog does not depend on Rendering, so they are copied here; keep the two in step): CPU and
/// memory requests of the Odoo web pods at their minimum replica count, and the filestore volume.
public struct TenantSize: Sendable, Hashable {
    public var name: String
    public var cpuMillicores: Int
    public var memoryMiB: Int
    public var storageGiB: Int

    public init(name: String, cpuMillicores: Int, memoryMiB: Int, storageGiB: Int) {
        self.name = name
        self.cpuMillicores = cpuMillicores
        self.memoryMiB = memoryMiB
        self.storageGiB = storageGiB
    }

    /// The sizes a tenant can have, smallest first.
    public static let all: [TenantSize] = [
        TenantSize(name: "s", cpuMillicores: 500, memoryMiB: 1024, storageGiB: 10),
        TenantSize(name: "m", cpuMillicores: 2000, memoryMiB: 4096, storageGiB: 20),
        TenantSize(name: "l", cpuMillicores: 4000, memoryMiB: 8192, storageGiB: 50),
        TenantSize(name: "xl", cpuMillicores: 12000, memoryMiB: 24576, storageGiB: 100),
    ]

    public static func named(_ name: String) -> TenantSize? {
        all.first { $0.name == name }
    }
}
