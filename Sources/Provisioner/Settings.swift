import API
import Foundation

/// Settings from the environment (the brief's variables); parsed once at start-up.
struct Settings: Sendable {
    var databaseURL: String
    var listenHost: String
    var listenPort: Int
    var jwksPath: String?
    var jwtIssuer: String?
    var jwtAudience: String?
    /// The `iss` of partner tokens this service mints; `nil` for the default.
    var tokenIssuer: String?
    var dataDirectory: URL
    var masterKeyFile: URL?
    /// The GitOps repository revisions are committed to (a bare git repository, created when missing).
    var gitopsRepository: URL
    /// Where GitOps commits are pushed (any URL or path `git push` accepts); `nil`: not pushed.
    /// It may carry credentials: never log it.
    var gitopsRemote: String?
    var migrationsDirectory: URL
    var openAPIFile: URL
    var poolSize: Int
    var statementTimeout: Duration
    var logLevel: String
    var logFormat: String
    /// Requests per second per principal (burst twice that, partners a fifth); 0 turns limiting off.
    var rateLimit: Double
    var maxBodyBytes: Int
    /// Authentication failures written to the audit trail per minute by one process.
    var authenticationFailureAuditsPerMinute: Int
    /// Seconds a deleted tenant's database is kept before it is dropped (`PROVISIONER_DELETE_GRACE`).
    var deleteGrace: Int
    /// The region whose shared server regions without one use (`PROVISIONER_SHARED_REGION_FALLBACK`;
    /// the embedded default sets `local`).
    var sharedRegionFallback: String?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                throw Invalid(description: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func decimal(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
            guard let text = value(name) else { return fallback }
            guard let number = Double(text), number.isFinite, range.contains(number) else {
                throw Invalid(
                    description: "\(name) must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))"
                )
            }
            return number
        }
        let listen = value("PROVISIONER_LISTEN") ?? "127.0.0.1:8080"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw Invalid(description: "PROVISIONER_LISTEN must be host:port, e.g. 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let dataDirectory = URL(fileURLWithPath: value("PROVISIONER_DATA_DIR") ?? "./.data")
        return Settings(
            databaseURL: value("DATABASE_URL") ?? "",
            listenHost: host,
            listenPort: port,
            jwksPath: value("PROVISIONER_JWKS"),
            jwtIssuer: value("PROVISIONER_JWT_ISSUER"),
            jwtAudience: value("PROVISIONER_JWT_AUDIENCE"),
            tokenIssuer: value("PROVISIONER_TOKEN_ISSUER"),
            dataDirectory: dataDirectory,
            masterKeyFile: value("PROVISIONER_MASTER_KEY_FILE").map { URL(fileURLWithPath: $0) },
            gitopsRepository: value("PROVISIONER_GITOPS_REPO").map { URL(fileURLWithPath: $0) }
                ?? dataDirectory.appendingPathComponent("gitops"),
            gitopsRemote: value("PROVISIONER_GITOPS_REMOTE"),
            migrationsDirectory: URL(fileURLWithPath: value("PROVISIONER_MIGRATIONS_DIR") ?? "./migrations"),
            openAPIFile: URL(fileURLWithPath: value("PROVISIONER_OPENAPI_FILE") ?? "./openapi/openapi.yaml"),
            poolSize: try integer("PROVISIONER_DB_POOL_SIZE", default: 10, range: 1...500),
            statementTimeout: .milliseconds(
                try integer("PROVISIONER_DB_STATEMENT_TIMEOUT_MS", default: 5000, range: 100...600_000)
            ),
            logLevel: value("PROVISIONER_LOG_LEVEL") ?? "info",
            logFormat: value("PROVISIONER_LOG_FORMAT") ?? "json",
            rateLimit: try decimal(
                "PROVISIONER_RATE_LIMIT", default: RequestLimits.defaultRequestsPerSecond, range: 0...1_000_000
            ),
            maxBodyBytes: try integer(
                "PROVISIONER_MAX_BODY_BYTES", default: JSONBody.maximumSize, range: 1024...JSONBody.largestLimit
            ),
            authenticationFailureAuditsPerMinute: try integer(
                "PROVISIONER_AUDIT_AUTH_FAILURES_PER_MINUTE", default: 10, range: 0...10_000
            ),
            deleteGrace: try integer("PROVISIONER_DELETE_GRACE", default: 604_800, range: 0...315_360_000),
            sharedRegionFallback: value("PROVISIONER_SHARED_REGION_FALLBACK")
        )
    }

    func requireDatabaseURL() throws -> String {
        guard !databaseURL.isEmpty else {
            throw Invalid(description: "DATABASE_URL is not set (a libpq URI or key/value connection string)")
        }
        return databaseURL
    }

    /// The master key file: configured, or the one the embedded default keeps in the data folder.
    func resolvedMasterKeyFile() -> URL {
        masterKeyFile ?? dataDirectory.appendingPathComponent("master.key")
    }

    var developmentKeyDirectory: URL { dataDirectory.appendingPathComponent("dev") }
}
