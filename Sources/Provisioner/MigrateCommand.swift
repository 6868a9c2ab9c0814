import ArgumentParser
import Foundation
import Logging
import Postgres

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply migrations/*.sql to the catalog (DATABASE_URL)."
    )

    @Flag(help: "Only report whether the schema is current; exit non-zero when it is not.")
    var check = false

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let logger = LoggingSetup.bootstrap(format: settings.logFormat, level: settings.logLevel)
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try settings.requireDatabaseURL(), poolSize: 2),
            logger: logger
        )
        let migrator = Migrator(pool: pool, directory: settings.migrationsDirectory, logger: logger)
        do {
            if check {
                try await ServeCommand.requireCurrentSchema(migrator)
                print("schema is current")
            } else {
                let applied = try await migrator.apply()
                print(applied.isEmpty ? "schema is current" : "applied \(applied.map { "\($0.version)_\($0.name)" })")
            }
            await pool.close()
        } catch {
            await pool.close()
            throw error
        }
    }
}
