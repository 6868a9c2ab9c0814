public import Foundation
public import Postgres

/// Changes a worker makes to many held jobs in one statement, and work fenced in a transaction.
extension JobQueue {
    /// The PostgreSQL array literals of the jobs' ids and fences (both are safe unquoted).
    static func arrays(_ jobs: [ClaimedJob]) -> (ids: String, fences: String) {
        (
            "{" + jobs.map(\.id.postgresText).joined(separator: ",") + "}",
            "{" + jobs.map { String($0.fence) }.joined(separator: ",") + "}"
        )
    }

    /// Marks every job of `jobs` whose fence still holds succeeded, in one statement. Returns the
    /// ids it changed; the others were lost (their lease expired, they were cancelled or finished).
    public func complete(_ jobs: [ClaimedJob]) async throws -> Set<UUID> {
        guard !jobs.isEmpty else {
            return []
        }
        let (ids, fences) = Self.arrays(jobs)
        let rows = try await pool.query(
            """
            UPDATE jobs SET state = 'succeeded', lease_expires_at = NULL, worker_id = NULL, finished_at = now(),
                updated_at = now()
            FROM unnest($1::uuid[], $2::bigint[]) AS done(id, fence)
            WHERE jobs.id = done.id AND jobs.fence = done.fence AND jobs.state = 'running'
            RETURNING jobs.id
            """,
            [ids, fences]
        )
        return Set(try rows.map { try $0.decode(UUID.self, "id") })
    }

    /// Renews the leases of `jobs` to `lease` from now, in one statement. Returns, for each job
    /// whose fence still holds, whether cancellation was requested; a job missing from the answer
    /// was lost.
    public func heartbeat(_ jobs: [ClaimedJob], lease: Duration) async throws -> [UUID: Bool] {
        guard !jobs.isEmpty else {
            return [:]
        }
        let (ids, fences) = Self.arrays(jobs)
        let rows = try await pool.query(
            """
            UPDATE jobs SET lease_expires_at = now() + $3::double precision * interval '1 second', updated_at = now()
            FROM unnest($1::uuid[], $2::bigint[]) AS held(id, fence)
            WHERE jobs.id = held.id AND jobs.fence = held.fence AND jobs.state = 'running'
            RETURNING jobs.id, jobs.cancel_requested
            """,
            [ids, fences, lease.seconds]
        )
        var answer: [UUID: Bool] = [:]
        for row in rows {
            answer[try row.decode(UUID.self, "id")] = try row.decode(Bool.self, "cancel_requested")
        }
        return answer
    }

    /// Hands `job` back without counting this attempt: it is claimable again after `delay` (a
    /// worker shutting down, or one that has no handler for the job's kind).
    public func release(_ job: ClaimedJob, after delay: Duration = .zero) async throws {
        let rows = try await pool.query(
            """
            UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0),
                run_at = now() + $3::double precision * interval '1 second',
                lease_expires_at = NULL, worker_id = NULL, updated_at = now()
            WHERE id = $1 AND fence = $2 AND state = 'running'
            """,
            [job.id, job.fence, delay.seconds]
        )
        guard rows.affectedRows == 1 else {
            throw JobQueueError.leaseLost
        }
    }

    /// Runs `body` in a transaction that first locks `job` and checks its fence: the work commits
    /// only while this worker still holds the job, and no rescue or other claim can change the job
    /// until it commits. Throws ``JobQueueError/leaseLost`` (nothing done) when the fence no
    /// longer holds.
    public func withFencedTransaction<T: Sendable>(
        _ job: ClaimedJob, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let id = job.id
        let fence = job.fence
        return try await pool.transaction { connection in
            let held = try connection.query(
                "SELECT 1 FROM jobs WHERE id = $1 AND fence = $2 AND state = 'running' FOR UPDATE",
                [id, fence]
            )
            guard held.count == 1 else {
                throw JobQueueError.leaseLost
            }
            return try body(connection)
        }
    }
}
