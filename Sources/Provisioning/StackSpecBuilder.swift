public import Catalog
import Foundation
import GitOps
import Postgres
public import Rendering

/// Builds a stack's render input from the catalog: the stack, its region, the tenants it serves
/// now, and the worker's ``StackDefaults``. The spec is validated by the renderer like any other.
public struct StackSpecBuilder: Sendable {
    public let defaults: StackDefaults

    public init(defaults: StackDefaults) {
        self.defaults = defaults
    }

    /// Where the shared stacks of a region reach its shared PostgreSQL server.
    public struct SharedServer: Sendable, Hashable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// The host and port of a libpq connection string (its first host). A Unix-socket
        /// directory, which pods cannot reach, is read as the loopback address of a single-host
        /// development setup.
        public init(connectionString: String) throws {
            func first(_ keyword: String) throws -> String? {
                try PostgresConnectionString.value(of: keyword, in: connectionString)?
                    .split(separator: ",", omittingEmptySubsequences: false).first.map(String.init)
            }
            let host = try first("host").flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
            let port = try first("port").flatMap { Int($0) } ?? 5432
            self.init(host: host.hasPrefix("/") ? "127.0.0.1" : host, port: port)
        }
    }

    /// The spec of `stack` serving `members`. `size` is the stack's size: a dedicated stack takes
    /// its tenant's, a shared one the defaults'. `sharedServer` is required for a shared stack.
    public func spec(
        stack: StackRecord, region: Region, members: [StackMember], size: String, sharedServer: SharedServer?
    ) throws -> StackSpec {
        let stackSize = stack.stack.kind == .shared ? defaults.sharedStackSize : size
        let location = try GitOpsLocation(region: region.slug, stack: stack.stack.name)
        let tenants = members.map { member in
            StackSpec.Tenant(
                slug: member.slug, organization: member.organization, customDomains: member.customDomains,
                database: member.database, role: member.database, routed: member.routed
            )
        }
        let instances = stack.stack.kind == .dedicated ? defaults.databaseInstances : 0
        let profile = SizeProfile.named(stackSize) ?? SizeProfile.all[0]
        let footprint = profile.minimumFootprint(databaseInstances: instances)
        let storage = profile.filestoreGiB + defaults.databaseStorageGiB * instances
        let database: StackSpec.Database
        switch stack.stack.kind {
        case .dedicated:
            database = StackSpec.Database(
                role: members.first?.database ?? "odoo", image: defaults.postgresImage, instances: instances,
                storageGiB: defaults.databaseStorageGiB, backupSchedule: defaults.backupSchedule,
                retentionDays: 30, backupDestination: "\(defaults.backupBucket)/\(region.slug)/\(stack.stack.name)"
            )
        case .shared:
            let server = sharedServer ?? SharedServer(host: "127.0.0.1", port: 5432)
            database = StackSpec.Database(
                role: stack.databaseRole ?? "odoo", host: server.host, port: server.port,
                networkCIDR: Self.isIPv4(server.host) ? "\(server.host)/32" : defaults.sharedDatabaseNetworkCIDR
            )
        }
        return StackSpec(
            stackID: stack.stack.id, stackName: stack.stack.name, kind: stack.stack.kind.rawValue,
            region: StackSpec.Region(slug: region.slug, baseDomain: region.baseDomain, ingressNamespace: defaults.ingressNamespace),
            odooVersion: stack.stack.odooVersion,
            image: StackSpec.Image(
                repository: defaults.odooRepository,
                tag: defaults.odooTags[stack.stack.odooVersion] ?? "\(stack.stack.odooVersion)-latest"
            ),
            redisImage: defaults.redisImage, size: stackSize, tenants: tenants,
            plan: StackSpec.PlanLimits(cpuMillicores: footprint.cpuMillicores, memoryMiB: footprint.memoryMiB, storageGiB: storage),
            tls: defaults.tls, secretStore: defaults.secretStorePrefix + region.slug,
            gitops: StackSpec.GitOps(repoURL: defaults.gitopsRepoURL, path: location.directory, revision: defaults.gitopsRevision),
            database: database,
            compose: StackSpec.Compose(
                webBackend: "odoo-web:8069", websocketBackend: "odoo-web:8072", traefikImage: defaults.traefikImage,
                postgresImage: defaults.composePostgresImage
            )
        )
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part).map { String($0) == part } ?? false }
    }
}
