public import Foundation
import JWT
public import Postgres

/// The PostgreSQL job queue: enqueue (inside the caller's transaction or in bulk), claim with
/// `FOR UPDATE SKIP LOCKED`, fenced heartbeats, progress, completion and failure, cancellation,
/// rescue of expired leases and pruning of finished jobs.
///
/// Every change a worker makes names the fence its claim returned. A fence that no longer matches
/// (the lease expired and the job was rescued or claimed again, or the job was finished) changes
/// nothing and throws ``JobQueueError/leaseLost``.
public struct JobQueue: Sendable {
    /// The channel notified (payload: the queue name) when jobs are enqueued; delivered on commit.
    public static let notificationChannel = "provisioner_jobs"
    /// The error kept on a job whose lease expired before it finished.
    public static let leaseExpiredError = "lease expired"

    let pool: PostgresPool
    public var retryPolicy: RetryPolicy

    public init(pool: PostgresPool, retryPolicy: RetryPolicy = RetryPolicy()) {
        self.pool = pool
        self.retryPolicy = retryPolicy
    }

    // MARK: - Enqueueing

    static let insertFromJSON = """
        INSERT INTO jobs (id, kind, queue, payload, priority, run_at, max_attempts, concurrency_key,
            organization, tenant, stack, created_by, request_id)
        SELECT (j->>'id')::uuid, j->>'kind', j->>'queue', j->'payload', (j->>'priority')::smallint,
            coalesce((j->>'run_at')::timestamptz, now()), (j->>'max_attempts')::integer, j->>'concurrency_key',
            j->>'organization', j->>'tenant', j->>'stack', j->>'created_by', j->>'request_id'
        FROM jsonb_array_elements($1::jsonb) AS e(j)
        """

    static func json(_ request: JobRequest, id: UUID) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return [
            "id": .string(id.uuidString.lowercased()),
            "kind": .string(request.kind),
            "queue": .string(request.queue),
            "payload": request.payload,
            "priority": .string(String(request.priority)),
            "run_at": text(request.runAt?.postgresText),
            "max_attempts": .string(String(request.maxAttempts)),
            "concurrency_key": text(request.concurrencyKey),
            "organization": text(request.organization),
            "tenant": text(request.tenant),
            "stack": text(request.stack),
            "created_by": text(request.createdBy),
            "request_id": text(request.requestID),
        ]
    }

    /// The insert statement's one parameter and the new jobs' ids, in request order.
    static func prepare(_ requests: [JobRequest]) throws(JobQueueError) -> (parameter: String, ids: [UUID]) {
        var ids: [UUID] = []
        var elements: [JSONValue] = []
        for request in requests {
            try request.validate()
            let id = request.id ?? TimeOrderedID.make()
            ids.append(id)
            elements.append(json(request, id: id))
        }
        return (String(decoding: JSONCoding.encode(.array(elements)), as: UTF8.self), ids)
    }

    /// Enqueues `request` inside the caller's transaction on `connection`: if the transaction rolls
    /// back, the job never existed. Workers are notified when it commits.
    public static func enqueue(_ request: JobRequest, on connection: PostgresConnection) throws -> UUID {
        try enqueue([request], on: connection)[0]
    }

    /// Enqueues `requests` in one statement inside the caller's transaction; ids in request order.
    public static func enqueue(_ requests: [JobRequest], on connection: PostgresConnection) throws -> [UUID] {
        guard !requests.isEmpty else {
            return []
        }
        let prepared = try prepare(requests)
        try connection.execute(insertFromJSON, [prepared.parameter])
        return prepared.ids
    }

    /// Enqueues `requests` in one statement (its own transaction); ids in request order.
    @discardableResult
    public func enqueue(_ requests: [JobRequest]) async throws -> [UUID] {
        guard !requests.isEmpty else {
            return []
        }
        let prepared = try Self.prepare(requests)
        try await pool.query(Self.insertFromJSON, [prepared.parameter])
        return prepared.ids
    }

    // MARK: - Claiming

    static let claimedColumns = """
        jobs.id, jobs.kind, jobs.queue, jobs.payload::text AS payload_text, jobs.priority, jobs.attempts,
        jobs.max_attempts, jobs.fence, jobs.lease_expires_at, jobs.concurrency_key, jobs.organization, jobs.tenant,
        jobs.stack, jobs.created_by, jobs.request_id, extract(epoch FROM now() - picked.run_at)::float8 AS waited
        """

    /// Due jobs of the queue, best first, skipping rows other claimers hold and keys already
    /// running; within the batch, one job per key (so a batch can come back short when keys
    /// repeat: claim again). The partial unique index on running keys refuses a key a concurrent
    /// claim took meanwhile (the claim is then run again).
    static let claim = """
        WITH candidates AS (
            SELECT j.id, j.concurrency_key, j.priority, j.run_at
            FROM jobs j
            WHERE j.state IN ('queued', 'failed') AND j.queue = $1 AND j.run_at <= now()
                AND (j.concurrency_key IS NULL OR NOT EXISTS (
                    SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.concurrency_key = j.concurrency_key))
            ORDER BY j.priority DESC, j.run_at, j.id
            LIMIT $2
            FOR UPDATE OF j SKIP LOCKED
        ), picked AS (
            SELECT id, run_at FROM (
                SELECT id, concurrency_key, priority, run_at,
                    row_number() OVER (PARTITION BY concurrency_key ORDER BY priority DESC, run_at, id) AS position
                FROM candidates
            ) ranked
            WHERE concurrency_key IS NULL OR position = 1
        )
        UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, fence = jobs.fence + 1,
            lease_expires_at = now() + $3::double precision * interval '1 second', worker_id = $4,
            started_at = coalesce(jobs.started_at, now()), updated_at = now()
        FROM picked
        WHERE jobs.id = picked.id
        RETURNING \(claimedColumns)
        """

    /// Claims up to `limit` due jobs of `queue` for `workerID`, each with a lease of `lease`:
    /// attempts and fence are incremented. Jobs come best first (priority, then due time).
    public func claim(queue: String, limit: Int, lease: Duration, workerID: String) async throws -> [ClaimedJob] {
        guard limit > 0 else {
            return []
        }
        var conflicts = 0
        while true {
            do {
                let rows = try await pool.query(Self.claim, [queue, limit, lease.seconds, workerID])
                return try rows.map(Self.claimedJob).sorted { $0.priority > $1.priority }
            } catch let error as DatabaseError
                where error.sqlState == .uniqueViolation && error.constraint == "jobs_running_concurrency_key_idx"
            {
                // A concurrent claim took the same key first; the next try sees it running.
                conflicts += 1
                if conflicts >= 5 {
                    return []
                }
            }
        }
    }

    static func claimedJob(_ row: PostgresRow) throws -> ClaimedJob {
        ClaimedJob(
            id: try row.decode(UUID.self, "id"),
            kind: try row.decode(String.self, "kind"),
            queue: try row.decode(String.self, "queue"),
            payload: try JSONCoding.decode(Array(try row.decode(String.self, "payload_text").utf8)),
            priority: Int16(clamping: try row.decode(Int.self, "priority")),
            attempts: try row.decode(Int.self, "attempts"),
            maxAttempts: try row.decode(Int.self, "max_attempts"),
            fence: try row.decode(Int64.self, "fence"),
            leaseExpiresAt: try row.decode(Date.self, "lease_expires_at"),
            concurrencyKey: try row.decodeIfPresent(String.self, "concurrency_key"),
            organization: try row.decodeIfPresent(String.self, "organization"),
            tenant: try row.decodeIfPresent(String.self, "tenant"),
            stack: try row.decodeIfPresent(String.self, "stack"),
            createdBy: try row.decodeIfPresent(String.self, "created_by"),
            requestID: try row.decodeIfPresent(String.self, "request_id"),
            waited: .milliseconds(Int64((max(try row.decode(Double.self, "waited"), 0) * 1000).rounded()))
        )
    }

    // MARK: - Fenced changes

    /// Renews the lease of `job` to `lease` from now. Returns whether cancellation was requested
    /// (the worker should then stop at its next step and call ``acknowledgeCancellation(_:)``).
    @discardableResult
    public func heartbeat(_ job: ClaimedJob, lease: Duration) async throws -> Bool {
        let rows = try await pool.query(
            """
            UPDATE jobs SET lease_expires_at = now() + $3::double precision * interval '1 second', updated_at = now()
            WHERE id = $1 AND fence = $2 AND state = 'running'
            RETURNING cancel_requested
            """,
            [job.id, job.fence, lease.seconds]
        )
        guard let row = rows.first else {
            throw JobQueueError.leaseLost
        }
        return try row.decode(Bool.self, "cancel_requested")
    }

    /// Appends the step `name`, reached now, to the progress of `job`. Returns whether cancellation
    /// was requested.
    @discardableResult
    public func recordStep(_ job: ClaimedJob, _ name: String) async throws -> Bool {
        let rows = try await pool.query(
            """
            UPDATE jobs SET progress = progress || jsonb_build_array(jsonb_build_object('name', $3::text, 'at', now())),
                updated_at = now()
            WHERE id = $1 AND fence = $2 AND state = 'running'
            RETURNING cancel_requested
            """,
            [job.id, job.fence, name]
        )
        guard let row = rows.first else {
            throw JobQueueError.leaseLost
        }
        return try row.decode(Bool.self, "cancel_requested")
    }

    /// Marks `job` succeeded.
    public func complete(_ job: ClaimedJob) async throws {
        try await finish(job, state: .succeeded)
    }

    /// Marks `job` cancelled after the worker stopped on a cancellation request.
    public func acknowledgeCancellation(_ job: ClaimedJob) async throws {
        try await finish(job, state: .cancelled)
    }

    private func finish(_ job: ClaimedJob, state: JobState) async throws {
        let rows = try await pool.query(
            """
            UPDATE jobs SET state = $3, lease_expires_at = NULL, worker_id = NULL, finished_at = now(),
                updated_at = now()
            WHERE id = $1 AND fence = $2 AND state = 'running'
            """,
            [job.id, job.fence, state.rawValue]
        )
        guard rows.affectedRows == 1 else {
            throw JobQueueError.leaseLost
        }
    }

    /// Records that this attempt of `job` failed with `error`. With attempts left, the job becomes
    /// `failed` and claimable again after `retryAfter` (default: the retry policy's backoff with
    /// jitter); on its last attempt it becomes `dead`; when cancellation was requested, `cancelled`.
    /// The error is kept as the job's last error. A `permanent` failure ends the job `dead` at once
    /// (running it again cannot help). Returns the new state.
    @discardableResult
    public func fail(
        _ job: ClaimedJob, error: String, retryAfter: Duration? = nil, permanent: Bool = false
    ) async throws -> JobState {
        let delay = retryAfter ?? retryPolicy.delay(afterAttempt: job.attempts)
        let rows = try await pool.query(
            """
            UPDATE jobs SET
                state = CASE WHEN cancel_requested THEN 'cancelled'
                    WHEN $5 OR attempts >= max_attempts THEN 'dead' ELSE 'failed' END,
                run_at = CASE WHEN cancel_requested OR $5 OR attempts >= max_attempts THEN run_at
                    ELSE now() + $4::double precision * interval '1 second' END,
                finished_at = CASE WHEN cancel_requested OR $5 OR attempts >= max_attempts THEN now() END,
                last_error = $3, lease_expires_at = NULL, worker_id = NULL, updated_at = now()
            WHERE id = $1 AND fence = $2 AND state = 'running'
            RETURNING state
            """,
            [job.id, job.fence, error, delay.seconds, permanent]
        )
        guard let row = rows.first else {
            throw JobQueueError.leaseLost
        }
        return try Self.state(row)
    }

    // MARK: - Cancelling, rescuing, pruning

    /// What ``cancel(_:)`` did.
    public enum CancelOutcome: Sendable, Equatable {
        /// The job was waiting: it is cancelled now and will not run.
        case cancelled
        /// The job is running: its worker sees the request at its next heartbeat or step.
        case requested
        /// The job had already finished in this state; nothing changed.
        case alreadyFinished(JobState)
    }

    /// Cancels a waiting job at once, or asks the worker of a running one to stop.
    public func cancel(_ id: UUID) async throws -> CancelOutcome {
        try await pool.transaction { connection in try Self.cancel(id, on: connection) }
    }

    /// ``cancel(_:)`` inside the caller's transaction on `connection` (e.g. with its audit record):
    /// the job's row stays locked until that transaction ends.
    public static func cancel(_ id: UUID, on connection: PostgresConnection) throws -> CancelOutcome {
        let rows = try connection.query(
            """
            WITH target AS (
                SELECT id, state AS previous FROM jobs WHERE id = $1 FOR UPDATE
            ), changed AS (
                UPDATE jobs SET cancel_requested = true,
                    state = CASE WHEN jobs.state = 'running' THEN 'running' ELSE 'cancelled' END,
                    finished_at = CASE WHEN jobs.state = 'running' THEN NULL ELSE now() END,
                    updated_at = now()
                FROM target
                WHERE jobs.id = target.id AND target.previous IN ('queued', 'failed', 'running')
                RETURNING jobs.state
            )
            SELECT target.previous, (SELECT state FROM changed) AS current FROM target
            """,
            [id]
        )
        guard let row = rows.first else {
            throw JobQueueError.notFound
        }
        guard let current = try row.decodeIfPresent(String.self, "current") else {
            let previous = try row.decode(String.self, "previous")
            guard let state = JobState(rawValue: previous) else {
                throw DatabaseError(kind: .decoding, column: "previous", serverMessage: "unknown job state")
            }
            return .alreadyFinished(state)
        }
        return current == JobState.running.rawValue ? .requested : .cancelled
    }

    /// Running jobs whose lease expired: each becomes `failed` (claimable at once) with the error
    /// ``leaseExpiredError``, `dead` when it was on its last attempt, or `cancelled` when
    /// cancellation was requested. Returns the ids and new states.
    @discardableResult
    public func rescueExpiredLeases(limit: Int = 1000) async throws -> [(id: UUID, state: JobState)] {
        let rows = try await pool.query(
            """
            WITH expired AS (
                SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now()
                ORDER BY lease_expires_at LIMIT $2
                FOR UPDATE SKIP LOCKED
            )
            UPDATE jobs SET
                state = CASE WHEN cancel_requested THEN 'cancelled'
                    WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END,
                finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END,
                run_at = now(), last_error = $1, lease_expires_at = NULL, worker_id = NULL, updated_at = now()
            FROM expired
            WHERE jobs.id = expired.id AND jobs.state = 'running'
            RETURNING jobs.id, jobs.state
            """,
            [Self.leaseExpiredError, limit]
        )
        return try rows.map { (try $0.decode(UUID.self, "id"), try Self.state($0)) }
    }

    /// Deletes jobs that finished (succeeded, dead, cancelled) more than `retention` ago, in
    /// batches of `batchSize` so no statement holds many row locks. Returns how many were deleted.
    @discardableResult
    public func prune(olderThan retention: Duration, batchSize: Int = 1000) async throws -> Int {
        var deleted = 0
        while true {
            let rows = try await pool.query(
                """
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs
                    WHERE state IN ('succeeded', 'dead', 'cancelled')
                        AND finished_at < now() - $1::double precision * interval '1 second'
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED
                )
                """,
                [retention.seconds, batchSize]
            )
            deleted += rows.affectedRows
            if rows.affectedRows < batchSize {
                return deleted
            }
        }
    }

    /// Vacuums the jobs table, index cleanup included (a vacuum that found few dead rows would
    /// otherwise skip the indexes): the claim index's pages emptied by claims are removed, so
    /// claims stop walking over them. Skipped at once when another vacuum of the table (e.g.
    /// autovacuum) is running. Runs outside any transaction; a role that does not own the table
    /// gets a warning from PostgreSQL and nothing is done.
    public func vacuum() async throws {
        try await pool.query("VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON) jobs")
    }

    // MARK: - Reading

    /// The job with `id`, with its progress and payload.
    public func job(_ id: UUID) async throws -> Job {
        let rows = try await pool.query(
            "SELECT \(Self.versionedColumns), payload::text AS payload_text FROM jobs WHERE id = $1", [id]
        )
        guard let row = rows.first else {
            throw JobQueueError.notFound
        }
        var job = try Self.versionedJob(row).job
        job.payload = try JSONCoding.decode(Array(try row.decode(String.self, "payload_text").utf8))
        return job
    }

    static func state(_ row: PostgresRow) throws -> JobState {
        let text = try row.decode(String.self, "state")
        guard let state = JobState(rawValue: text) else {
            throw DatabaseError(kind: .decoding, column: "state", serverMessage: "unknown job state")
        }
        return state
    }
}
