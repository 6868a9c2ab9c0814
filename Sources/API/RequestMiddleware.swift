import Catalog
import Foundation
import HTTPTypes
public import Hummingbird
import JWT
import Logging
import Metrics
import Postgres
import Synchronization

/// The outermost middleware: request ids, the problem+json mapping of every
/// error (in this one place), `405` for known paths, and request metrics.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let registry: RouteRegistry
    let metrics: HTTPMetrics

    func handle(
        _ request: Request, context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(request)
        context.logger[metadataKey: "request.id"] = .string(context.requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let problem = problem(for: error, request: request, context: context)
            response = ProblemRenderer.response(problem, requestID: context.requestID)
        }
        response.headers[.requestID] = context.requestID
        metrics.record(
            method: request.method, route: context.endpointPath ?? "unmatched", status: response.status.code,
            duration: ContinuousClock.now - started
        )
        return response
    }

    /// The incoming `X-Request-ID` when it is well-formed, else a new one.
    static func requestID(_ request: Request) -> String {
        if let incoming = request.headers[.requestID], (1...128).contains(incoming.utf8.count),
            incoming.utf8.allSatisfy(isRequestIDByte)
        {
            return incoming
        }
        return RequestIDGenerator.shared.next()
    }

    static func isRequestIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    func problem(for error: any Error, request: Request, context: AppRequestContext) -> ProblemError {
        switch error {
        case let problem as ProblemError:
            return problem
        case let error as CatalogError:
            return .from(error)
        case let error as DatabaseError:
            if error.isUnavailable || error.sqlState == .queryCanceled {
                context.logger.warning(
                    "database unavailable",
                    metadata: ["db.error": "\(error)", "db.sqlstate": "\(error.sqlState?.rawValue ?? "")"]
                )
                return .unavailable("the catalog database is unavailable; retry shortly")
            }
            context.logger.error(
                "database error", metadata: ["db.error": "\(error)", "db.sqlstate": "\(error.sqlState?.rawValue ?? "")"]
            )
            return .internalError
        case let error as HTTPError where error.status == .notFound:
            let allowed = registry.methods(matching: request.uri.path)
            guard !allowed.isEmpty else { return ProblemError(.notFound, code: "not_found", detail: "no such route") }
            var headers = HTTPFields()
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return ProblemError(
                .methodNotAllowed, code: "method_not_allowed", detail: "this path does not take \(request.method)",
                headers: headers
            )
        case let error as HTTPError:
            return ProblemError(error.status, code: Self.code(for: error.status), detail: error.body ?? error.status.reasonPhrase)
        default:
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return .internalError
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .contentTooLarge: "payload_too_large"
        case .badRequest: "bad_request"
        case .unsupportedMediaType: "unsupported_media_type"
        default: status.code >= 500 ? "internal_error" : "bad_request"
        }
    }
}

/// Request ids unique across processes without a random draw per request: a
/// random per-process prefix and a counter.
final class RequestIDGenerator: Sendable {
    static let shared = RequestIDGenerator()

    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        prefix = Base64URL.encode(SecureRandom.bytes(9))
    }

    func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + "-" + String(value, radix: 16)
    }
}
