public import Catalog
import Foundation
public import Hummingbird
public import JWT
import Jobs
public import Logging
public import Postgres

/// Everything the HTTP API needs, built by the `serve` command or by tests.
public struct APIDependencies: Sendable {
    public var pool: PostgresPool
    public var migrator: Migrator
    public var verifier: JWTVerifier
    public var sealer: any SecretSealer
    public var metrics: HTTPMetrics
    public var limits: RequestLimits
    /// The bytes of `openapi/openapi.yaml`, served at `/openapi.yaml`.
    public var openAPIDocument: [UInt8]
    public var logger: Logger
    /// The `iss` of partner tokens (their `aud` is the external verifier's audience).
    public var partnerTokenIssuer: String
    /// At most this many authentication failures (401) per minute are written to
    /// the audit trail by this process; all are counted in metrics.
    public var authenticationFailureAuditsPerMinute: Int

    public init(
        pool: PostgresPool, migrator: Migrator, verifier: JWTVerifier, sealer: any SecretSealer,
        metrics: HTTPMetrics = HTTPMetrics(), limits: RequestLimits = RequestLimits(), openAPIDocument: [UInt8],
        logger: Logger, partnerTokenIssuer: String = PartnerTokenAuthority.defaultIssuer,
        authenticationFailureAuditsPerMinute: Int = 10
    ) {
        self.pool = pool
        self.migrator = migrator
        self.verifier = verifier
        self.sealer = sealer
        self.metrics = metrics
        self.limits = limits
        self.openAPIDocument = openAPIDocument
        self.logger = logger
        self.partnerTokenIssuer = partnerTokenIssuer
        self.authenticationFailureAuditsPerMinute = authenticationFailureAuditsPerMinute
    }
}

/// The router with every route, and the registry that lists them.
public func buildRouter(_ dependencies: APIDependencies) -> (Router<AppRequestContext>, RouteRegistry) {
    let router = Router(context: AppRequestContext.self)
    let partnerTokens = PartnerTokenAuthority(
        issuer: dependencies.partnerTokenIssuer, audience: dependencies.verifier.configuration.audience,
        pool: dependencies.pool, sealer: dependencies.sealer, logger: dependencies.logger
    )
    let authenticator = Authenticator(
        verifier: dependencies.verifier, partnerTokens: partnerTokens, logger: dependencies.logger
    )
    let idempotency = IdempotencyGuard(
        store: IdempotencyStore(pool: dependencies.pool), logger: dependencies.logger
    )
    let limits = dependencies.limits
    let audit = AuditRecorder(
        store: AuditStore(pool: dependencies.pool),
        throttle: AuditThrottle(limit: dependencies.authenticationFailureAuditsPerMinute),
        metrics: dependencies.metrics, logger: dependencies.logger
    )
    let routes = RouteRegistry(
        router: router, authenticator: authenticator, idempotency: idempotency, audit: audit,
        limiter: limits.requestsPerSecond > 0 ? RateLimiter(perSecond: limits.requestsPerSecond) : nil,
        maxBodyBytes: limits.maxBodyBytes, metrics: dependencies.metrics
    )
    router.add(middleware: RequestMiddleware(registry: routes, metrics: dependencies.metrics))

    OperationsController(
        pool: dependencies.pool, migrator: dependencies.migrator, metrics: dependencies.metrics,
        openAPIDocument: dependencies.openAPIDocument
    ).addRoutes(to: routes)
    RegionController(store: RegionStore(pool: dependencies.pool), sealer: dependencies.sealer).addRoutes(to: routes)
    PlanController(store: PlanStore(pool: dependencies.pool)).addRoutes(to: routes)
    OrganizationController(store: OrganizationStore(pool: dependencies.pool)).addRoutes(to: routes)
    BrandController(store: BrandStore(pool: dependencies.pool)).addRoutes(to: routes)
    TenantController(
        pool: dependencies.pool, store: TenantStore(pool: dependencies.pool), queue: JobQueue(pool: dependencies.pool)
    ).addRoutes(to: routes)
    TokenController(authority: partnerTokens).addRoutes(to: routes)
    AuditEventController(store: AuditStore(pool: dependencies.pool)).addRoutes(to: routes)
    JobController(
        pool: dependencies.pool, queue: JobQueue(pool: dependencies.pool),
        organizations: OrganizationStore(pool: dependencies.pool)
    ).addRoutes(to: routes)
    StackController(stacks: StackStore(pool: dependencies.pool), artifacts: ArtifactStore(pool: dependencies.pool))
        .addRoutes(to: routes)
    return (router, routes)
}

/// The HTTP application listening on `host:port`.
public func buildApplication(
    _ dependencies: APIDependencies, host: String, port: Int
) -> Application<RouterResponder<AppRequestContext>> {
    let (router, _) = buildRouter(dependencies)
    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "provisioner"),
        logger: dependencies.logger
    )
}
