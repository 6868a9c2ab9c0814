import ArgumentParser
import Catalog
import Foundation
import JWT
import Logging
import Postgres

/// The embedded default's region `local`: its shared PostgreSQL server is the embedded cluster
/// itself, reached over TCP by a login role with `CREATEDB CREATEROLE` only (not a superuser), whose
/// URL is sealed with the master key like any region's. The role's password is kept under the data
/// folder (mode 0600), so running it again, for this region or another one on the same cluster,
/// leaves every region's URL valid.
struct DevRegionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-region",
        abstract: "Create or refresh the embedded default's region `local`, whose shared server is the embedded cluster."
    )

    @Option(help: "Region slug.")
    var slug = "local"

    @Option(help: "Base domain of the region's hostnames.")
    var baseDomain = "local.provisioner.test"

    @Option(help: "Tenants per shared stack.")
    var sharedStackCapacity = 50

    @Option(help: "TCP host of the embedded cluster, as its pods would reach it.")
    var host = "127.0.0.1"

    static let adminRole = "provisioner_shared_admin"

    /// The admin role's password from `<data>/shared-admin.password`, created once.
    static func adminPassword(in dataDirectory: URL) throws -> String {
        let file = dataDirectory.appendingPathComponent("shared-admin.password")
        if let text = try? String(contentsOf: file, encoding: .utf8), !text.isEmpty {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let password = Base64URL.encode(SecureRandom.bytes(24))
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600]
            )
        else {
            throw Settings.Invalid(description: "cannot write \(file.path)")
        }
        return password
    }

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let logger = Logger(label: "provisioner.dev-region")
        let connectionString = try settings.requireDatabaseURL()
        let secrets = try MasterKey.load(from: settings.resolvedMasterKeyFile())
        let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: connectionString, poolSize: 1), logger: logger)
        let password = try Self.adminPassword(in: settings.dataDirectory)
        let role = Self.adminRole
        let port = try await pool.withConnection { connection in
            let verifier = try connection.scramVerifier(password: password, role: role)
            let exists = try connection.query("SELECT 1 AS found FROM pg_roles WHERE rolname = $1", [role]).count > 0
            let quoted = try connection.quoteIdentifier(role)
            let verb = exists ? "ALTER" : "CREATE"
            try connection.simpleQuery(
                "\(verb) ROLE \(quoted) LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD \(try connection.quoteLiteral(verifier))"
            )
            // Suspending a tenant ends its open sessions too.
            try connection.simpleQuery("GRANT pg_signal_backend TO \(quoted)")
            return try connection.query("SELECT current_setting('port') AS port").first?.decode(String.self, "port") ?? "5432"
        }
        let url = "postgresql://\(role):\(password)@\(host):\(port)/postgres"
        let sealed = try secrets.seal(Array(url.utf8))
        let store = RegionStore(pool: pool)
        let audit = AuditContext(actor: .commandLine(user: ProcessInfo.processInfo.environment["USER"] ?? "unknown"), requestID: nil)
        do {
            _ = try await store.update(slug, condition: .none, audit: audit) { region in
                region.sharedPostgresURLSealed = sealed
            }
        } catch CatalogError.notFound {
            _ = try await store.create(
                Region(
                    slug: slug, name: "Local (embedded PostgreSQL)", baseDomain: baseDomain, gitopsPath: "clusters/\(slug)",
                    sharedStackCapacity: sharedStackCapacity, sharedPostgresURLSealed: sealed
                ),
                audit: audit
            )
        }
        await pool.close()
        print(slug)
    }
}
