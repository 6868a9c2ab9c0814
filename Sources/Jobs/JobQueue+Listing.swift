public import Foundation
import JWT
import Postgres

/// Reading jobs for the API: one job with its row version, and an organization's jobs page by page.
extension JobQueue {
    /// Every column of a job but the payload (which may name secrets and is never shown), with its
    /// progress as epoch seconds and its version and list position in microseconds.
    static let versionedColumns = """
        id, kind, queue, priority, state, run_at, attempts, max_attempts, fence, lease_expires_at, worker_id,
        concurrency_key, cancel_requested, last_error, organization, tenant, stack, created_by, request_id,
        created_at, updated_at, started_at, finished_at,
        (extract(epoch FROM updated_at) * 1000000)::bigint AS version,
        (extract(epoch FROM created_at) * 1000000)::bigint AS created_micros,
        (SELECT coalesce(jsonb_agg(jsonb_build_object('name', s->>'name',
            'epoch', extract(epoch FROM (s->>'at')::timestamptz)) ORDER BY n), '[]'::jsonb)
         FROM jsonb_array_elements(progress) WITH ORDINALITY AS p(s, n))::text AS progress_text
        """

    /// The job with `id` and the version of its row.
    public func versionedJob(_ id: UUID) async throws -> VersionedJob {
        let rows = try await pool.query("SELECT \(Self.versionedColumns) FROM jobs WHERE id = $1", [id])
        guard let row = rows.first else {
            throw JobQueueError.notFound
        }
        return try Self.versionedJob(row)
    }

    /// The organization and tenant the job with `id` belongs to, for access checks.
    public func owner(of id: UUID) async throws -> (organization: String?, tenant: String?) {
        let rows = try await pool.query("SELECT organization, tenant FROM jobs WHERE id = $1", [id])
        guard let row = rows.first else {
            throw JobQueueError.notFound
        }
        return (try row.decodeIfPresent(String.self, "organization"), try row.decodeIfPresent(String.self, "tenant"))
    }

    /// A page of the organization's jobs, newest first (`jobs_organization_idx`).
    public func list(_ query: JobListQuery) async throws -> JobPage {
        let confined = query.confinedToTenants.map { tenants in
            String(decoding: JSONCoding.encode(.array(tenants.map(JSONValue.string))), as: UTF8.self)
        }
        let rows = try await pool.query(
            """
            SELECT \(Self.versionedColumns) FROM jobs
            WHERE organization = $1
              AND ($2::text IS NULL OR state = $2)
              AND ($3::text IS NULL OR kind = $3)
              AND ($4::text IS NULL OR tenant = $4)
              AND ($5::jsonb IS NULL OR tenant IN (SELECT jsonb_array_elements_text($5::jsonb)))
              AND ($6::bigint IS NULL
                OR (created_at, id) < (timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $8
            """,
            [
                query.organization, query.state?.rawValue, query.kind, query.tenant, confined,
                query.after?.createdAtMicroseconds, query.after?.id, query.limit + 1,
            ]
        )
        let fetched = try rows.map(Self.versionedJob)
        guard fetched.count > query.limit else {
            return JobPage(items: fetched, nextAfter: nil)
        }
        let items = Array(fetched.prefix(query.limit))
        return JobPage(items: items, nextAfter: items.last?.position)
    }

    static func versionedJob(_ row: PostgresRow) throws -> VersionedJob {
        let progress = try JSONCoding.decode(Array(try row.decode(String.self, "progress_text").utf8))
        let id = try row.decode(UUID.self, "id")
        let job = Job(
            id: id,
            kind: try row.decode(String.self, "kind"),
            queue: try row.decode(String.self, "queue"),
            payload: .object([:]),
            priority: Int16(clamping: try row.decode(Int.self, "priority")),
            state: try state(row),
            runAt: try row.decode(Date.self, "run_at"),
            attempts: try row.decode(Int.self, "attempts"),
            maxAttempts: try row.decode(Int.self, "max_attempts"),
            fence: try row.decode(Int64.self, "fence"),
            leaseExpiresAt: try row.decodeIfPresent(Date.self, "lease_expires_at"),
            workerID: try row.decodeIfPresent(String.self, "worker_id"),
            concurrencyKey: try row.decodeIfPresent(String.self, "concurrency_key"),
            cancelRequested: try row.decode(Bool.self, "cancel_requested"),
            lastError: try row.decodeIfPresent(String.self, "last_error"),
            progress: (progress.arrayValue ?? []).compactMap { step in
                guard let name = step.objectValue?["name"]?.stringValue,
                    let epoch = step.objectValue?["epoch"]?.doubleValue
                else {
                    return nil
                }
                return JobStep(name: name, at: Date(timeIntervalSince1970: epoch))
            },
            organization: try row.decodeIfPresent(String.self, "organization"),
            tenant: try row.decodeIfPresent(String.self, "tenant"),
            stack: try row.decodeIfPresent(String.self, "stack"),
            createdBy: try row.decodeIfPresent(String.self, "created_by"),
            requestID: try row.decodeIfPresent(String.self, "request_id"),
            createdAt: try row.decode(Date.self, "created_at"),
            startedAt: try row.decodeIfPresent(Date.self, "started_at"),
            finishedAt: try row.decodeIfPresent(Date.self, "finished_at")
        )
        return VersionedJob(
            job: job,
            version: try row.decode(Int64.self, "version"),
            updatedAt: try row.decode(Date.self, "updated_at"),
            position: JobListPosition(createdAtMicroseconds: try row.decode(Int64.self, "created_micros"), id: id)
        )
    }
}
