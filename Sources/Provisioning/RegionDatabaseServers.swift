public import Catalog
import Foundation
public import JWT
public import Logging
public import Postgres

/// One admin connection pool per region's shared PostgreSQL server, opened on first use from the
/// region's sealed `shared_postgres_url` and replaced when that setting changes. The URL is
/// opened with the master key only here and never logged.
public actor RegionDatabaseServers {
    struct Entry {
        var sealedURL: [UInt8]
        var connectionString: String
        var provisioner: TenantDatabaseProvisioner
        var pool: PostgresPool
    }

    let secrets: SecretBox
    let logger: Logger
    let poolSize: Int
    var entries: [String: Entry] = [:]

    public init(secrets: SecretBox, logger: Logger, poolSize: Int = 4) {
        self.secrets = secrets
        self.logger = logger
        self.poolSize = poolSize
    }

    /// The provisioner for the region's shared server, and its connection string (for the stack
    /// spec's host and port); `nil` when the region has no shared server configured.
    public func server(for region: Region) throws -> (provisioner: TenantDatabaseProvisioner, connectionString: String)? {
        guard let sealed = region.sharedPostgresURLSealed else { return nil }
        if let entry = entries[region.slug], entry.sealedURL == sealed {
            return (entry.provisioner, entry.connectionString)
        }
        let connectionString = String(decoding: try secrets.open(sealed), as: UTF8.self)
        var configuration = TenantDatabaseProvisioner.adminConfiguration(connectionString: connectionString)
        configuration.poolSize = poolSize
        let pool = PostgresPool(configuration: configuration, logger: logger)
        let provisioner = TenantDatabaseProvisioner(adminPool: pool, logger: logger)
        if let old = entries[region.slug] {
            Task { await old.pool.close() }
        }
        entries[region.slug] = Entry(sealedURL: sealed, connectionString: connectionString, provisioner: provisioner, pool: pool)
        return (provisioner, connectionString)
    }

    /// Closes every pool (at shutdown).
    public func close() async {
        let pools = entries.values.map(\.pool)
        entries = [:]
        for pool in pools {
            await pool.close()
        }
    }
}
