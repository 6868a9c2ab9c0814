import ArgumentParser
import Catalog
import Foundation
import JWT
import Logging
import Postgres
import Provisioning

/// Operators' tenant-scoped access (exports, BI, restores): prints the libpq URL of a shared
/// tenant's own role on its region's shared server, opened with the master key. Audited.
struct TenantURLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant-url",
        abstract: "Print the connection string of a shared tenant's own database role (operators only; audited)."
    )

    @Argument(help: "Organization slug.")
    var organization: String

    @Argument(help: "Tenant slug.")
    var tenant: String

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let logger = Logger(label: "provisioner.tenant-url")
        let secrets = try MasterKey.load(from: settings.resolvedMasterKeyFile())
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try settings.requireDatabaseURL(), poolSize: 1), logger: logger
        )
        let (organization, slug) = (self.organization, self.tenant)
        let audit = AuditContext(actor: .commandLine(user: ProcessInfo.processInfo.environment["USER"] ?? "unknown"), requestID: nil)
        let result: Result<String, any Error>
        do {
            let work = try await pool.transaction { connection in
                let id = try TenantStore.decodeID(organization: organization, slug: slug, connection)
                let work = try TenantStore.work(tenant: id, on: connection)
                try AuditStore.append(
                    AuditRecord(
                        context: audit, organization: organization, action: "tenant.credentials_read", targetType: "tenant",
                        targetID: slug, summary: ["role": .string(work.tenant.database)]
                    ),
                    on: connection
                )
                return work
            }
            guard work.tenant.placement == .shared else {
                throw Refusal(description: "\(organization)/\(slug) is dedicated: its database lives in its own stack's cluster")
            }
            guard let sealedPassword = work.rolePasswordSealed, let sealedURL = work.region.sharedPostgresURLSealed else {
                throw Refusal(description: "\(organization)/\(slug) has no database role yet (status \(work.tenant.status.rawValue))")
            }
            let password = try DatabasePassword(sealed: sealedPassword, with: secrets)
            let server = String(decoding: try secrets.open(sealedURL), as: UTF8.self)
            result = .success(
                try PostgresConnectionString.replacing(
                    server, with: ["user": work.tenant.database, "password": password.text, "dbname": work.tenant.database]
                )
            )
        } catch {
            result = .failure(error)
        }
        await pool.close()
        print(try result.get())
    }
}
