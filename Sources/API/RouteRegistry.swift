public import Hummingbird
import NIOCore

/// Who may call a route: the one place each route states its permission.
enum Access: Sendable, Equatable {
    /// No authentication and no rate limit (operations endpoints).
    case open
    /// An authenticated principal holding the permission. Routes under
    /// `/v1/organizations/{org}` also confine org-bound principals to their
    /// organization, and routes with a `{tenant}` confine tenant-bound ones to
    /// their tenants (404 both).
    case permission(Permission)
    /// Like `.permission`, and only for provider staff (no `org` claim).
    case staff(Permission)
}

/// Registers routes on the router with their access rule, and remembers every
/// (method, path template) pair for `405` answers and the spec comparison.
public final class RouteRegistry: @unchecked Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> APIResponse

    let router: Router<AppRequestContext>
    let authenticator: Authenticator
    let idempotency: IdempotencyGuard
    let audit: AuditRecorder
    /// `nil` when rate limiting is off.
    let limiter: RateLimiter?
    let maxBodyBytes: Int
    let metrics: HTTPMetrics
    /// Method and OpenAPI-style path template (`/v1/regions/{region}`) of every route.
    public private(set) var operations: [(method: HTTPRequest.Method, path: String)] = []
    /// The access rule of every route, by `"METHOD /path/template"` (raw routes are `.open`).
    private(set) var access: [String: Access] = [:]

    init(
        router: Router<AppRequestContext>, authenticator: Authenticator, idempotency: IdempotencyGuard,
        audit: AuditRecorder,
        limiter: RateLimiter? = nil, maxBodyBytes: Int = JSONBody.maximumSize, metrics: HTTPMetrics = HTTPMetrics()
    ) {
        self.router = router
        self.authenticator = authenticator
        self.idempotency = idempotency
        self.audit = audit
        self.limiter = limiter
        self.maxBodyBytes = maxBodyBytes
        self.metrics = metrics
    }

    /// A route whose answer is a ready-made Hummingbird response (metrics, spec file).
    func addRaw(
        _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) {
        operations.append((method, path))
        access["\(method.rawValue) \(path)"] = .open
        router.on(RouterPath(Self.hummingbirdPath(path)), method: method) { request, context in
            try await handler(request, context)
        }
    }

    /// `replaySecret`: for a POST whose answer holds a secret, how idempotency keeps and replays it.
    /// `owner`: for a route whose path names no organization, how to read the organization and
    /// tenant of the resource it names, checked like the path's (404 outside, before any 403).
    func add(
        _ method: HTTPRequest.Method, _ path: String, access: Access,
        replaySecret: IdempotencyGuard.ReplaySecret? = nil, owner: ResourceOwner.Lookup? = nil,
        _ handler: @escaping Handler
    ) {
        operations.append((method, path))
        self.access["\(method.rawValue) \(path)"] = access
        let authenticator = self.authenticator
        let idempotency = self.idempotency
        let audit = self.audit
        let limiter = self.limiter
        let metrics = self.metrics
        let maxBodyBytes = self.maxBodyBytes
        let confinesOrganization = path.hasPrefix("/v1/organizations/{org}")
        let confinesTenant = path.contains("/{tenant}")
        let takesBody = method == .post || method == .put || method == .patch
        router.on(RouterPath(Self.hummingbirdPath(path)), method: method) { request, context in
            var context = context
            switch access {
            case .open:
                return try await handler(request, context).response
            case .permission(let permission), .staff(let permission):
                // In this order: 401, 429 (only for a verified principal, so bad
                // tokens create no buckets), 404 outside the confinement, 403, 413.
                let principal: Principal
                do {
                    principal = try await authenticator.authenticate(authorization: request.headers[.authorization])
                } catch let problem as ProblemError {
                    await audit.unauthenticated(
                        tokenPresented: request.headers[.authorization] != nil, method: method, template: path,
                        parameter: { context.parameters.get($0) }, requestID: context.requestID
                    )
                    throw problem
                }
                context.principal = principal
                if let limiter, case .limited(let retryAfter) = limiter.acquire(principal) {
                    metrics.recordRateLimited(partner: principal.isPartner)
                    throw ProblemError.rateLimited(retryAfter: retryAfter)
                }
                // Every 403, from the checks below or from the handler, is audited; it belongs to
                // the organization of the resource when the path does not name one.
                var ownerOrganization: String?
                do {
                    if confinesOrganization, let org = context.parameters.get("org") {
                        try principal.requireAccess(toOrganization: org)
                    }
                    if confinesTenant, let tenant = context.parameters.get("tenant") {
                        try principal.requireAccess(toTenant: tenant)
                    }
                    if let owner {
                        let resourceOwner = try await owner(context)
                        ownerOrganization = resourceOwner.organization
                        try principal.requireAccess(to: resourceOwner)
                    }
                    if case .staff = access {
                        try principal.requireStaff(permission)
                    } else {
                        try principal.require(permission)
                    }
                    var request = request
                    if takesBody {
                        context.maxUploadSize = maxBodyBytes
                        request.body = RequestBody(buffer: try await Self.collectBody(request, limit: maxBodyBytes))
                    }
                    guard method == .post else { return try await handler(request, context).response }
                    let frozenContext = context
                    return try await idempotency.run(
                        request, principal: principal, requestID: frozenContext.requestID, secret: replaySecret
                    ) { request in
                        try await handler(request, frozenContext)
                    }.response
                } catch let problem as ProblemError where problem.status == .forbidden {
                    await audit.denied(
                        problem, principal: principal, method: method, template: path,
                        parameter: { context.parameters.get($0) }, requestID: context.requestID,
                        owner: ownerOrganization
                    )
                    throw problem
                }
            }
        }
    }

    /// The whole body, refused with 413 past `limit` (at once when `Content-Length` says so).
    static func collectBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw ProblemError.payloadTooLarge(limit: limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ProblemError.payloadTooLarge(limit: limit)
        }
    }

    /// `/v1/regions/{region}` becomes `/v1/regions/:region`.
    static func hummingbirdPath(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }

    /// The methods registered for a concrete path, for `405 Method Not Allowed`.
    func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return operations.filter { operation in
            let template = operation.path.split(separator: "/", omittingEmptySubsequences: false)
            guard template.count == segments.count else { return false }
            return zip(template, segments).allSatisfy { pattern, segment in
                (pattern.hasPrefix("{") && !segment.isEmpty) || pattern == segment
            }
        }.map(\.method)
    }
}
