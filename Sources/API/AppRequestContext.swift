public import Hummingbird
public import Logging

/// Per-request state: the request id and, once authenticated, the principal.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed in `X-Request-ID` and every problem body.
    public var requestID: String
    /// Set by `AuthenticationMiddleware` on every `/v1` route.
    public var principal: Principal?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.principal = nil
        self.maxUploadSize = JSONBody.maximumSize
    }

    /// The body limit of the route (`PROVISIONER_MAX_BODY_BYTES`), set by `RouteRegistry`.
    public var maxUploadSize: Int

    /// The authenticated principal; a route behind `AuthenticationMiddleware` always has one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw ProblemError.unauthorized(tokenPresented: false) }
        return principal
    }
}
