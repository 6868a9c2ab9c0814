import API
import ArgumentParser
import Catalog
import Foundation
import Logging
import Postgres

/// Operator commands for Provisioner's own partner-token signing keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the signing keys of partner tokens.",
        subcommands: [RotateKeyCommand.self]
    )
}

struct RotateKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Make a new signing key the active one.",
        discussion: """
            New partner tokens are signed with the new key at once (every serve process reads the active key \
            from the catalog when it mints). The retired key stays published at /.well-known/jwks.json, and \
            its tokens stay valid, until the last unrevoked token it signed expires.
            """
    )

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let logger = LoggingSetup.bootstrap(format: settings.logFormat, level: settings.logLevel)
        let sealer = try MasterKey.load(from: settings.resolvedMasterKeyFile())
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try settings.requireDatabaseURL(), poolSize: 1),
            logger: logger
        )
        do {
            try await ServeCommand.requireCurrentSchema(
                Migrator(pool: pool, directory: settings.migrationsDirectory, logger: logger)
            )
            // Recorded in the audit trail as the operating-system user who ran the command
            // (by uid when the system has no name for it, as in some containers).
            let user = ProcessInfo.processInfo.userName
            let audit = AuditContext(
                actor: .commandLine(user: user.isEmpty ? "uid-\(getuid())" : user), requestID: nil
            )
            let (active, retired) = try await PartnerSigningKeys(pool: pool, sealer: sealer).rotate(audit: audit)
            print("active key \(active)" + (retired.map { "; retired \($0) (published until the last live token it signed expires)" } ?? ""))
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
