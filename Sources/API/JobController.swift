import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import JWT
import Jobs
import Logging
import Postgres

/// `/v1/jobs/{job}` and `/v1/organizations/{org}/jobs`: following and cancelling asynchronous work.
///
/// Provider staff see every job; an organization's principals only their organization's (a job of
/// another organization, or of none, is 404), and a token confined to tenants only those tenants'
/// jobs. The owner of a job is read before the permission check, so the 404 comes before any 403.
struct JobController {
    let pool: PostgresPool
    let queue: JobQueue
    let organizations: OrganizationStore

    func addRoutes(to routes: RouteRegistry) {
        let owner = self.owner
        routes.add(.get, "/v1/organizations/{org}/jobs", access: .permission(.jobsRead)) { request, context in
            let principal = try context.requirePrincipal()
            var query = try Self.query(request, organization: try context.parameters.require("org"))
            query.confinedToTenants = principal.tenants
            _ = try await organizations.get(query.organization)
            let page = try await queue.list(query)
            return APIResponse(
                json: .object([
                    "items": .array(page.items.map(\.json)),
                    "next_cursor": page.nextAfter.map { .string(Cursor.encode(job: $0)) } ?? .null,
                ])
            )
        }
        routes.add(.get, "/v1/jobs/{job}", access: .permission(.jobsRead), owner: owner) { _, context in
            let job = try await read(try Self.jobID(context))
            return .resource(job.json, version: job.version)
        }
        routes.add(.post, "/v1/jobs/{job}/cancel", access: .permission(.jobsWrite), owner: owner) { _, context in
            let id = try Self.jobID(context)
            let auditContext = try context.auditContext()
            // The cancellation and its audit record commit together.
            let outcome: JobQueue.CancelOutcome
            do {
                outcome = try await pool.transaction { connection in
                    let outcome = try JobQueue.cancel(id, on: connection)
                    let state: String
                    switch outcome {
                    case .alreadyFinished:
                        return outcome
                    case .cancelled:
                        state = JobState.cancelled.rawValue
                    case .requested:
                        state = JobState.running.rawValue
                    }
                    let owner = try connection.query("SELECT organization FROM jobs WHERE id = $1", [id])
                    try AuditStore.append(
                        AuditRecord(
                            context: auditContext,
                            organization: try owner.first?.decodeIfPresent(String.self, "organization"),
                            action: "job.cancel", targetType: "job", targetID: id.uuidString.lowercased(),
                            summary: ["state": .string(state), "cancel_requested": true]
                        ),
                        on: connection
                    )
                    return outcome
                }
            } catch JobQueueError.notFound {
                throw ProblemError.notFound
            }
            if case .alreadyFinished(let state) = outcome {
                throw ProblemError(
                    .conflict, code: "job_finished", detail: "the job has already finished (\(state.rawValue))"
                )
            }
            let job = try await read(id)
            context.logger.info(
                "job cancellation requested",
                metadata: ["job.id": "\(id.uuidString.lowercased())", "job.state": "\(job.job.state.rawValue)"]
            )
            guard outcome == .requested else { return .resource(job.json, version: job.version) }
            return .resource(
                job.json, version: job.version, status: .accepted, location: "/v1/jobs/\(id.uuidString.lowercased())"
            )
        }
    }

    /// The organization and tenant of the job the path names; 404 for a malformed or unknown id.
    var owner: ResourceOwner.Lookup {
        let queue = self.queue
        return { context in
            let id = try Self.jobID(context)
            do {
                let owner = try await queue.owner(of: id)
                return ResourceOwner(organization: owner.organization, tenant: owner.tenant)
            } catch JobQueueError.notFound {
                throw ProblemError.notFound
            }
        }
    }

    func read(_ id: UUID) async throws -> VersionedJob {
        do {
            return try await queue.versionedJob(id)
        } catch JobQueueError.notFound {
            throw ProblemError.notFound
        }
    }

    static func jobID(_ context: AppRequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("job")) else { throw ProblemError.notFound }
        return id
    }

    /// Reads the filters and the page; every bad value is a 422 field error.
    static func query(_ request: Request, organization: String) throws -> JobListQuery {
        var reader = QueryParameterReader(request)
        var query = JobListQuery(organization: organization)
        if let limit = reader.limit() {
            query.limit = limit
        }
        query.after = reader.cursor(Cursor.decodeJobPosition)
        query.state = reader.read("state", "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))") {
            JobState(rawValue: $0)
        }
        query.kind = reader.read("kind", "must be a job kind such as tenant.provision") { isKind($0) ? $0 : nil }
        query.tenant = reader.read("tenant", RegionController.slugRule) { NamePattern.isSlug($0) ? $0 : nil }
        try reader.finish()
        return query
    }

    /// 1 to 100 bytes of `[a-z0-9._-]`.
    static func isKind(_ text: String) -> Bool {
        (1...100).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
            }
    }
}
