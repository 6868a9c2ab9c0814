import Foundation
import Hummingbird
import JWT
import Logging
import Postgres

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`: no authentication.
struct OperationsController {
    let pool: PostgresPool
    let migrator: Migrator
    let metrics: HTTPMetrics
    let openAPIDocument: [UInt8]

    func addRoutes(to routes: RouteRegistry) {
        // The migrations this process was built and started with: read once, not on every probe.
        let expected = Result { try migrator.available() }
        routes.add(.get, "/healthz", access: .open) { _, _ in
            APIResponse(json: .object(["status": .string("ok")]))
        }
        routes.add(.get, "/readyz", access: .open) { _, context in
            let status: MigrationStatus
            do {
                status = try await migrator.status(of: expected.get())
            } catch let error as DatabaseError {
                context.logger.warning("readiness check failed", metadata: ["db.error": "\(error)"])
                throw ProblemError.unavailable("the catalog database is unreachable")
            }
            guard case .current = status else {
                throw ProblemError.unavailable("the catalog schema is not current: run `provisioner migrate`", retryAfter: 30)
            }
            return APIResponse(
                json: .object([
                    "status": .string("ready"),
                    "checks": .object(["database": .string("ok"), "schema": .string("ok")]),
                ])
            )
        }
        routes.addRaw(.get, "/metrics") { _, _ in
            let text = metrics.render(pool: pool.statistics)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        routes.addRaw(.get, "/openapi.yaml") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/yaml"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
        }
    }
}
