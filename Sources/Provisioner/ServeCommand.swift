import API
import ArgumentParser
import Catalog
import Foundation
import Hummingbird
import JWT
import Jobs
import Logging
import Postgres
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP API (settings from the environment)."
    )

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let logger = LoggingSetup.bootstrap(format: settings.logFormat, level: settings.logLevel)
        let verifier = try await Self.verifier(settings, logger: logger)
        let sealer = try MasterKey.load(from: settings.resolvedMasterKeyFile())
        let openAPIDocument: [UInt8]
        do {
            openAPIDocument = Array(try Data(contentsOf: settings.openAPIFile))
        } catch {
            throw Settings.Invalid(
                description: "cannot read the OpenAPI document at \(settings.openAPIFile.path) (PROVISIONER_OPENAPI_FILE)"
            )
        }
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: try settings.requireDatabaseURL(), poolSize: settings.poolSize,
                statementTimeout: settings.statementTimeout
            ),
            logger: logger
        )
        let migrator = Migrator(pool: pool, directory: settings.migrationsDirectory, logger: logger)
        try await Self.requireCurrentSchema(migrator)
        let tokenIssuer = settings.tokenIssuer ?? PartnerTokenAuthority.defaultIssuer
        guard tokenIssuer != verifier.configuration.issuer else {
            throw Settings.Invalid(description: "PROVISIONER_TOKEN_ISSUER must differ from PROVISIONER_JWT_ISSUER")
        }
        // The partner-token signing key is created at the first start (sealed under the master key).
        let signingKey = try await PartnerSigningKeys(pool: pool, sealer: sealer).ensureActive()
        logger.info("partner token signing key ready", metadata: ["key.id": "\(signingKey.keyID)"])

        let metrics = HTTPMetrics()
        let dependencies = APIDependencies(
            pool: pool, migrator: migrator, verifier: verifier, sealer: sealer, metrics: metrics,
            limits: RequestLimits(requestsPerSecond: settings.rateLimit, maxBodyBytes: settings.maxBodyBytes),
            openAPIDocument: openAPIDocument, logger: logger, partnerTokenIssuer: tokenIssuer,
            authenticationFailureAuditsPerMinute: settings.authenticationFailureAuditsPerMinute
        )
        var application = buildApplication(dependencies, host: settings.listenHost, port: settings.listenPort)
        application.addServices(
            pool, IdempotencyPruner(store: IdempotencyStore(pool: pool), logger: logger),
            AuditSealer(store: AuditStore(pool: pool), logger: logger),
            // Queue depth by queue and state on this process's /metrics.
            QueueDepthReporter(pool: pool, factory: PrometheusMetricsFactory(registry: metrics.registry), logger: logger)
        )
        logger.info(
            "serving", metadata: ["http.listen": "\(settings.listenHost):\(settings.listenPort)"]
        )
        try await application.runService()
    }

    /// The verifier of the trusted external issuer; start-up stops with a clear message when it is not configured.
    /// `PROVISIONER_JWKS` is a file path, or an https URL (plain http only to a loopback address) fetched
    /// now and refreshed later (see `RemoteJSONWebKeySet`).
    static func verifier(_ settings: Settings, logger: Logger) async throws -> JWTVerifier {
        guard let source = settings.jwksPath, let issuer = settings.jwtIssuer, let audience = settings.jwtAudience else {
            throw Settings.Invalid(
                description: "PROVISIONER_JWKS, PROVISIONER_JWT_ISSUER and PROVISIONER_JWT_AUDIENCE must all be set"
            )
        }
        let configuration = JWTVerifierConfiguration(issuer: issuer, audience: audience)
        if RemoteJSONWebKeySet.isURL(source) {
            let remote: RemoteJSONWebKeySet
            do {
                remote = try RemoteJSONWebKeySet(source) { outcome in
                    switch outcome {
                    case .success(let count):
                        logger.info("key set fetched", metadata: ["jwks.keys": "\(count)"])
                    case .failure(let error):
                        logger.warning("key set fetch failed; keeping the last good keys", metadata: ["jwks.error": "\(error)"])
                    }
                }
                try await remote.load()
            } catch {
                throw Settings.Invalid(description: "cannot load the key set from PROVISIONER_JWKS: \(error)")
            }
            return JWTVerifier(remoteKeySet: remote, configuration: configuration)
        }
        let keySet: JSONWebKeySet
        do {
            keySet = try JSONWebKeySet(data: Array(try Data(contentsOf: URL(fileURLWithPath: source))))
        } catch {
            throw Settings.Invalid(description: "cannot load the key set at \(source): \(error)")
        }
        guard !keySet.keys.isEmpty else {
            throw Settings.Invalid(description: "the key set at \(source) holds no usable verification key")
        }
        return JWTVerifier(keySet: keySet, configuration: configuration)
    }

    static func requireCurrentSchema(_ migrator: Migrator) async throws {
        switch try await migrator.status() {
        case .current:
            return
        case .behind(let current, let pending):
            throw Settings.Invalid(
                description: "the catalog schema is at version \(current) with migrations \(pending) pending: "
                    + "run `provisioner migrate` first"
            )
        case .ahead(let unknown):
            throw Settings.Invalid(
                description: "the catalog schema has migrations \(unknown) this build does not know: "
                    + "deploy the newer provisioner build"
            )
        case .modified(let version, let name):
            throw Settings.Invalid(
                description: "migration \(version)_\(name) was changed after it was applied: restore the original file"
            )
        }
    }
}

/// Deletes idempotency records past their retention, hourly.
struct IdempotencyPruner: Service {
    let store: IdempotencyStore
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the sleep; that is this service's normal end.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let pruned = try await store.prune()
                    if pruned > 0 { logger.info("idempotency keys pruned", metadata: ["idempotency.pruned": "\(pruned)"]) }
                } catch {
                    logger.warning("idempotency pruning failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
