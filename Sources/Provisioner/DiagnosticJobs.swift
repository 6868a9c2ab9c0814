import Foundation
import JWT
import Jobs
import Postgres

/// Job kinds for testing and measuring the queue with real worker processes (`worker --diagnostics`).
///
/// - `diagnostics.noop` does nothing.
/// - `diagnostics.probe` records each run (`diagnostics_probe_runs`: start and end by the database's
///   clock, attempt, fence, worker), sleeps `sleep_ms` (a number or `[min, max]`), reports `steps`
///   progress steps, fails every time when `fail` is true, and with `key` writes one row into
///   `diagnostics_probe_results` in a transaction fenced by the job's lease: a second attempt finds
///   the row and changes nothing, and a worker that lost its lease writes nothing.
enum DiagnosticJobs {
    static let noop = "diagnostics.noop"
    static let probe = "diagnostics.probe"

    /// Creates the probe tables if missing (serialized across workers starting together).
    static func prepare(_ pool: PostgresPool) async throws {
        try await pool.transaction { connection in
            _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('provisioner.diagnostics'))")
            try connection.simpleQuery(
                """
                CREATE TABLE IF NOT EXISTS diagnostics_probe_results (
                    key text PRIMARY KEY,
                    job_id uuid NOT NULL,
                    fence bigint NOT NULL,
                    worker_id text NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
                );
                CREATE TABLE IF NOT EXISTS diagnostics_probe_runs (
                    job_id uuid NOT NULL,
                    fence bigint NOT NULL,
                    attempt integer NOT NULL,
                    worker_id text NOT NULL,
                    concurrency_key text,
                    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    ended_at timestamptz,
                    PRIMARY KEY (job_id, fence)
                );
                """
            )
        }
    }

    static func handlers(pool: PostgresPool) -> [String: any JobHandler] {
        [
            noop: JobClosureHandler { _ in },
            probe: JobClosureHandler { context in try await runProbe(context, pool: pool) },
        ]
    }

    struct ProbeFailure: Error, CustomStringConvertible {
        var description: String { "diagnostic probe failed on purpose" }
    }

    static func runProbe(_ context: JobContext, pool: PostgresPool) async throws {
        let job = context.job
        let payload = job.payload.objectValue ?? [:]
        try await pool.query(
            """
            INSERT INTO diagnostics_probe_runs (job_id, fence, attempt, worker_id, concurrency_key)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
            """,
            [job.id, job.fence, job.attempts, context.workerID, job.concurrencyKey]
        )
        let steps = max(payload["steps"]?.doubleValue.map { Int($0) } ?? 0, 0)
        let sleep = sleepMilliseconds(payload["sleep_ms"])
        let pieces = steps + 1
        for index in 0..<pieces {
            if sleep > 0 {
                try await Task.sleep(for: .milliseconds(sleep / pieces))
            }
            if index < steps {
                try await context.step("step \(index + 1)")
            }
        }
        if payload["fail"]?.boolValue == true {
            throw ProbeFailure()
        }
        if let key = payload["key"]?.stringValue {
            let workerID = context.workerID
            try await context.withFencedTransaction { connection in
                _ = try connection.execute(
                    """
                    INSERT INTO diagnostics_probe_results (key, job_id, fence, worker_id) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (key) DO NOTHING
                    """,
                    [key, job.id, job.fence, workerID]
                )
            }
        }
        try await pool.query(
            "UPDATE diagnostics_probe_runs SET ended_at = clock_timestamp() WHERE job_id = $1 AND fence = $2",
            [job.id, job.fence]
        )
    }

    static func sleepMilliseconds(_ value: JSONValue?) -> Int {
        if let range = value?.arrayValue, range.count == 2, let low = range[0].doubleValue,
            let high = range[1].doubleValue, low >= 0, high >= low
        {
            return Int(Double.random(in: low...high))
        }
        return max(Int(value?.doubleValue ?? 0), 0)
    }
}
