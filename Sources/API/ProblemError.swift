public import Catalog
public import HTTPTypes
public import JWT

/// An RFC 9457 problem: every error answer of the API is one of these.
public struct ProblemError: Error, Sendable {
    public var status: HTTPResponse.Status
    /// Stable snake_case identifier callers can switch on.
    public var code: String
    public var detail: String
    public var errors: [FieldError]
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`, `Allow`).
    public var headers: HTTPFields
    /// Extension members of the problem document (RFC 9457 section 3.2), e.g. a refused quota's
    /// `quota`, `limit` and `used`; never one of the standard members.
    public var members: [String: JSONValue] = [:]

    public init(
        _ status: HTTPResponse.Status, code: String, detail: String, errors: [FieldError] = [],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    public var title: String { status.reasonPhrase }

    /// The same problem with extension `members` added.
    public func with(_ members: [String: JSONValue]) -> ProblemError {
        var problem = self
        problem.members.merge(members) { _, new in new }
        return problem
    }

    public static func malformedJSON(_ detail: String) -> ProblemError {
        ProblemError(.badRequest, code: "malformed_json", detail: detail)
    }

    public static func badRequest(_ detail: String) -> ProblemError {
        ProblemError(.badRequest, code: "bad_request", detail: detail)
    }

    public static func validation(_ errors: [FieldError]) -> ProblemError {
        ProblemError(
            .unprocessableContent, code: "validation_failed", detail: "the request breaks one or more rules",
            errors: errors
        )
    }

    public static func validation(field: String, _ message: String) -> ProblemError {
        validation([FieldError(field: field, message: message)])
    }

    public static func unauthorized(tokenPresented: Bool) -> ProblemError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = tokenPresented ? "Bearer error=\"invalid_token\"" : "Bearer"
        return ProblemError(
            .unauthorized, code: "unauthorized",
            detail: tokenPresented ? "the bearer token is not valid" : "a bearer token is required", headers: headers
        )
    }

    public static func forbidden(_ detail: String) -> ProblemError {
        ProblemError(.forbidden, code: "forbidden", detail: detail)
    }

    public static let notFound = ProblemError(.notFound, code: "not_found", detail: "no such resource")

    public static func unavailable(_ detail: String, retryAfter seconds: Int = 2) -> ProblemError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(seconds)
        return ProblemError(.serviceUnavailable, code: "service_unavailable", detail: detail, headers: headers)
    }

    /// 429 with `Retry-After` in whole seconds.
    public static func rateLimited(retryAfter seconds: Int) -> ProblemError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(max(1, seconds))
        return ProblemError(
            .tooManyRequests, code: "rate_limited",
            detail: "too many requests for this principal; retry after \(max(1, seconds)) s", headers: headers
        )
    }

    public static func payloadTooLarge(limit: Int) -> ProblemError {
        ProblemError(.contentTooLarge, code: "payload_too_large", detail: "the body exceeds \(limit) bytes")
    }

    public static let internalError = ProblemError(
        .internalServerError, code: "internal_error", detail: "the server failed to handle the request"
    )

    /// The problem for a domain error of the catalog.
    public static func from(_ error: CatalogError) -> ProblemError {
        switch error {
        case .notFound:
            .notFound
        case .alreadyExists(let field):
            ProblemError(
                .conflict, code: "already_exists", detail: "a resource with this \(field) already exists",
                errors: [FieldError(field: field, message: "already taken")]
            )
        case .hasDependents(let detail):
            ProblemError(.conflict, code: "has_dependents", detail: "the resource cannot be deleted: \(detail)")
        case .preconditionFailed:
            ProblemError(
                .preconditionFailed, code: "precondition_failed",
                detail: "the resource changed since the ETag given in If-Match"
            )
        case .invalid(let errors):
            .validation(errors)
        case .quotaExceeded(let quota, let limit, let used):
            ProblemError(
                .conflict, code: "quota_exceeded",
                detail: "the plan's \(quota) is \(limit) and \(used) is in use"
            ).with(["quota": .string(quota), "limit": .number(Double(limit)), "used": .number(Double(used))])
        case .notAllowedByPlan(let quota, let allowed, let requested):
            ProblemError(
                .conflict, code: "quota_exceeded",
                detail: "the plan's \(quota) does not include '\(requested)' (allowed: \(allowed.joined(separator: ", ")))"
            ).with(["quota": .string(quota), "allowed": .array(allowed.map(JSONValue.string)), "requested": .string(requested)])
        case .domainTaken(let domain):
            ProblemError(.conflict, code: "domain_taken", detail: "the domain '\(domain)' is already in use")
                .with(["domain": .string(domain)])
        case .conflict(let code, let detail):
            ProblemError(.conflict, code: code, detail: detail)
        }
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-ID")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
