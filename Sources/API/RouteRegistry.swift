public import Hummingbird

/// Who may call a route: the one place each route states its permission.
enum Access: Sendable {
    /// No authentication (operations endpoints).
    case open
    /// An authenticated principal holding the permission. Routes under
    /// `/v1/organizations/{org}` also confine org-bound principals to their organization (404).
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
    /// Method and OpenAPI-style path template (`/v1/regions/{region}`) of every route.
    public private(set) var operations: [(method: HTTPRequest.Method, path: String)] = []

    init(router: Router<AppRequestContext>, authenticator: Authenticator, idempotency: IdempotencyGuard) {
        self.router = router
        self.authenticator = authenticator
        self.idempotency = idempotency
    }

    /// A route whose answer is a ready-made Hummingbird response (metrics, spec file).
    func addRaw(
        _ method: HTTPRequest.Method, _ path: String,
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response
    ) {
        operations.append((method, path))
        router.on(RouterPath(Self.hummingbirdPath(path)), method: method) { request, context in
            try await handler(request, context)
        }
    }

    func add(_ method: HTTPRequest.Method, _ path: String, access: Access, _ handler: @escaping Handler) {
        operations.append((method, path))
        let authenticator = self.authenticator
        let idempotency = self.idempotency
        let confinesOrganization = path.hasPrefix("/v1/organizations/{org}")
        router.on(RouterPath(Self.hummingbirdPath(path)), method: method) { request, context in
            var context = context
            switch access {
            case .open:
                return try await handler(request, context).response
            case .permission(let permission), .staff(let permission):
                let principal = try await authenticator.authenticate(authorization: request.headers[.authorization])
                context.principal = principal
                if confinesOrganization, let org = context.parameters.get("org") {
                    try principal.requireAccess(toOrganization: org)
                }
                if case .staff = access {
                    try principal.requireStaff(permission)
                } else {
                    try principal.require(permission)
                }
                guard method == .post else { return try await handler(request, context).response }
                let frozenContext = context
                return try await idempotency.run(request, principal: principal, requestID: frozenContext.requestID) { request in
                    try await handler(request, frozenContext)
                }.response
            }
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
