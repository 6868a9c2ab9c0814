/// Settings for a ``PostgresPool``.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection string (URI or key/value form, multi-host failover allowed), passed to libpq unchanged.
    public var connectionString: String
    public var poolSize: Int
    public var statementTimeout: Duration
    public var connectTimeout: Duration
    public var acquireTimeout: Duration
    public var applicationName: String

    public init(
        connectionString: String,
        poolSize: Int = 10,
        statementTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(3),
        acquireTimeout: Duration = .seconds(5),
        applicationName: String = "provisioner"
    ) {
        self.connectionString = connectionString
        self.poolSize = poolSize
        self.statementTimeout = statementTimeout
        self.connectTimeout = connectTimeout
        self.acquireTimeout = acquireTimeout
        self.applicationName = applicationName
    }
}

extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Everything but the connection string, which may hold a password.
    public var description: String {
        "PostgresConfiguration(connectionString: <redacted>, poolSize: \(poolSize), statementTimeout: \(statementTimeout), "
            + "connectTimeout: \(connectTimeout), acquireTimeout: \(acquireTimeout), applicationName: \(applicationName))"
    }

    public var debugDescription: String {
        description
    }
}
