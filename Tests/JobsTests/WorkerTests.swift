import Foundation
import JWT
import Jobs
import Logging
import MetricsTestKit
import Postgres
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// The worker in this process against a real PostgreSQL: slots, wake-ups, outcomes, cancellation,
/// lost leases and shutdown. Real worker processes (kill -9, SIGSTOP, PostgreSQL restarts) are in
/// `scripts/jobs-acceptance.py`.
@Suite(.timeLimit(.minutes(3))) struct WorkerTests {
    struct Harness {
        var pool: PostgresPool
        var queue: JobQueue
        var worker: Worker
        var metrics: TestMetrics
        var group: ServiceGroup
    }

    /// Runs a worker with `handlers` on a fresh schema while `body` runs, then shuts it down
    /// gracefully and waits for it to return.
    static func withWorker(
        _ handlers: [String: any JobHandler], slots: Int = 3, lease: Duration = .seconds(30),
        pollInterval: Duration = .milliseconds(100), gracePeriod: Duration = .seconds(5), listen: Bool = false,
        vacuumAfterClaims: Int? = nil, _ body: @escaping (Harness) async throws -> Void
    ) async throws {
        try await TestDatabase.withSchema(poolSize: 6) { pool, connectionString in
            let queue = JobQueue(pool: pool, retryPolicy: JobQueueTests.fastRetries)
            let metrics = TestMetrics()
            var logger = Logger(label: "worker-test")
            logger.logLevel = .error
            let worker = Worker(
                queue: queue,
                configuration: WorkerConfiguration(
                    slots: slots, lease: lease, pollInterval: pollInterval, rescueInterval: .milliseconds(200),
                    gracePeriod: gracePeriod, unknownKindDelay: .seconds(60), vacuumAfterClaims: vacuumAfterClaims,
                    vacuumCheckInterval: .milliseconds(100), workerID: "test-worker"
                ),
                handlers: handlers,
                listenerConfiguration: listen ? PostgresConfiguration(connectionString: connectionString) : nil,
                metrics: WorkerMetrics(factory: metrics), logger: logger
            )
            let group = ServiceGroup(services: [worker], logger: logger)
            let running = Task { try await group.run() }
            let harness = Harness(pool: pool, queue: queue, worker: worker, metrics: metrics, group: group)
            let outcome: Result<Void, any Error>
            do {
                try await body(harness)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await running.value
            try outcome.get()
        }
    }

    /// Waits (30 s at most: the whole suite runs in parallel on 2 cores) until `condition` on the
    /// jobs table holds.
    static func waitFor(_ pool: PostgresPool, _ condition: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let rows = try await pool.query("SELECT (\(condition)) AS holds")
            if try #require(rows.first).decode(Bool.self, "holds") {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(condition)")
        throw JobQueueError.notFound
    }

    @Test func runsEveryJobOnceWithinItsSlots() async throws {
        let running = Mutex((now: 0, most: 0, runs: [UUID: Int]()))
        let handler = JobClosureHandler { context in
            running.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
                $0.runs[context.job.id, default: 0] += 1
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...30)))
            running.withLock { $0.now -= 1 }
        }
        try await Self.withWorker(["work": handler], slots: 3) { harness in
            let ids = try await harness.queue.enqueue((0..<40).map { _ in JobRequest(kind: "work") })
            try await Self.waitFor(harness.pool, "(SELECT count(*) FROM jobs WHERE state = 'succeeded') = 40")
            let seen = running.withLock { $0 }
            #expect(Set(seen.runs.keys) == Set(ids))
            #expect(seen.runs.values.allSatisfy { $0 == 1 })
            #expect(seen.most <= 3)
            #expect(seen.most >= 2, "slots were used in parallel")
            #expect(harness.worker.heldJobs == 0)
            let finished = try harness.metrics.expectCounter(
                "provisioner_jobs_finished_total", [("kind", "work"), ("outcome", "succeeded")]
            )
            #expect(finished.totalValue == 40)
            let durations = try harness.metrics.expectTimer("provisioner_job_claim_to_finish_seconds", [("kind", "work")])
            #expect(durations.values.count == 40)
            #expect(try harness.metrics.expectTimer("provisioner_job_enqueue_to_start_seconds", [("queue", "default")]).values.count == 40)
        }
    }

    /// Manual vacuums of this test's jobs table (autovacuum's are counted apart).
    static let manualVacuums = """
        (SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'jobs')
        """

    @Test func aWorkerVacuumsTheJobsTableOnceItClaimedItsThreshold() async throws {
        try await Self.withWorker(["work": JobClosureHandler { _ in }], slots: 4, vacuumAfterClaims: 30) { harness in
            try await Self.waitFor(harness.pool, "\(Self.manualVacuums) = 0")
            try await harness.queue.enqueue((0..<20).map { _ in JobRequest(kind: "work") })
            try await Self.waitFor(harness.pool, "(SELECT count(*) FROM jobs WHERE state = 'succeeded') = 20")
            // 20 claims: below the threshold, so no vacuum yet (the check runs every 100 ms).
            try await Task.sleep(for: .milliseconds(500))
            try await Self.waitFor(harness.pool, "\(Self.manualVacuums) = 0")
            try await harness.queue.enqueue((0..<20).map { _ in JobRequest(kind: "work") })
            try await Self.waitFor(harness.pool, "(SELECT count(*) FROM jobs WHERE state = 'succeeded') = 40")
            try await Self.waitFor(harness.pool, "\(Self.manualVacuums) = 1")
        }
    }

    @Test func withoutAThresholdVacuumIsLeftToAutovacuum() async throws {
        try await Self.withWorker(["work": JobClosureHandler { _ in }], slots: 4, vacuumAfterClaims: nil) { harness in
            try await harness.queue.enqueue((0..<60).map { _ in JobRequest(kind: "work") })
            try await Self.waitFor(harness.pool, "(SELECT count(*) FROM jobs WHERE state = 'succeeded') = 60")
            try await Task.sleep(for: .milliseconds(500))
            try await Self.waitFor(harness.pool, "\(Self.manualVacuums) = 0")
        }
    }

    @Test func aNotificationWakesAnIdleWorkerLongBeforeItsNextPoll() async throws {
        try await Self.withWorker(["work": JobClosureHandler { _ in }], pollInterval: .seconds(120), listen: true) {
            harness in
            // The first poll happens at start; after that, only a notification can wake the worker.
            try await Task.sleep(for: .milliseconds(500))
            try await harness.queue.enqueue([JobRequest(kind: "work")])
            try await Self.waitFor(harness.pool, "(SELECT count(*) FROM jobs WHERE state = 'succeeded') = 1")
        }
    }

    @Test func failuresRetryPermanentFailuresDieAndUnknownKindsGoBack() async throws {
        let attempts = Mutex(0)
        let handlers: [String: any JobHandler] = [
            "flaky": JobClosureHandler { _ in
                let attempt = attempts.withLock {
                    $0 += 1
                    return $0
                }
                if attempt == 1 {
                    throw FlakyError()
                }
            },
            "invalid": JobClosureHandler { _ in throw JobFailure.permanent("payload names no tenant") },
        ]
        try await Self.withWorker(handlers) { harness in
            let ids = try await harness.queue.enqueue([
                JobRequest(kind: "flaky"), JobRequest(kind: "invalid"), JobRequest(kind: "from.the.future"),
            ])
            try await Self.waitFor(
                harness.pool, "NOT EXISTS (SELECT 1 FROM jobs WHERE kind <> 'from.the.future' AND state IN ('queued', 'failed', 'running'))")
            let flaky = try await harness.queue.job(ids[0])
            #expect(flaky.state == .succeeded)
            #expect(flaky.attempts == 2)
            #expect(flaky.lastError == "flaky failure")
            let invalid = try await harness.queue.job(ids[1])
            #expect(invalid.state == .dead)
            #expect(invalid.attempts == 1)
            #expect(invalid.lastError == "payload names no tenant")
            try await Self.waitFor(
                harness.pool,
                "EXISTS (SELECT 1 FROM jobs WHERE kind = 'from.the.future' AND state = 'queued' AND run_at > now() + interval '30 seconds')")
            let unknown = try await harness.queue.job(ids[2])
            #expect(unknown.attempts == 0, "handing back does not count an attempt")
            #expect(try harness.metrics.expectCounter("provisioner_jobs_retries_total", [("kind", "flaky")]).totalValue == 1)
            #expect(try harness.metrics.expectCounter("provisioner_jobs_dead_total", [("kind", "invalid")]).totalValue == 1)
        }
    }

    struct FlakyError: Error, CustomStringConvertible {
        var description: String { "flaky failure" }
    }

    @Test func cancellationStopsARunningJobAtItsNextStep() async throws {
        let stepsRun = Mutex(0)
        let handler = JobClosureHandler { context in
            for index in 1...200 {
                try await context.step("step \(index)")
                stepsRun.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await Self.withWorker(["steps": handler]) { harness in
            let id = try #require(try await harness.queue.enqueue([JobRequest(kind: "steps")]).first)
            try await Self.waitFor(harness.pool, "(SELECT jsonb_array_length(progress) FROM jobs) >= 3")
            #expect(try await harness.queue.cancel(id) == .requested)
            try await Self.waitFor(harness.pool, "(SELECT state FROM jobs) = 'cancelled'")
            let job = try await harness.queue.job(id)
            #expect(job.progress.count < 200)
            #expect(job.progress.first?.name == "step 1")
            #expect(stepsRun.withLock { $0 } < 200)
        }
    }

    @Test func aLostLeaseInterruptsTheHandlerAndRecordsNothing() async throws {
        let interrupted = Mutex(false)
        let handler = JobClosureHandler { _ in
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                interrupted.withLock { $0 = true }
                throw error
            }
        }
        try await Self.withWorker(["long": handler], lease: .seconds(3)) { harness in
            let id = try #require(try await harness.queue.enqueue([JobRequest(kind: "long", maxAttempts: 1)]).first)
            try await Self.waitFor(harness.pool, "(SELECT state FROM jobs) = 'running'")
            // Another party takes the job over: as if the lease had expired and it was claimed again.
            try await harness.pool.query("UPDATE jobs SET fence = fence + 1, worker_id = 'other'")
            // The next heartbeat (a third of the lease) finds the fence gone.
            let deadline = ContinuousClock.now + .seconds(10)
            while !interrupted.withLock({ $0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(interrupted.withLock { $0 })
            try await Task.sleep(for: .milliseconds(200))
            let job = try await harness.queue.job(id)
            #expect(job.state == .running)
            #expect(job.workerID == "other")
            #expect(job.lastError == nil)
            #expect(try harness.metrics.expectCounter("provisioner_jobs_leases_lost_total").totalValue == 1)
        }
    }

    @Test func shutdownStopsClaimingAndHandsBackWhatOutlastsTheGracePeriod() async throws {
        let handler = JobClosureHandler { context in
            let seconds = context.job.payload.objectValue?["seconds"]?.doubleValue ?? 0
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        }
        try await TestDatabase.withSchema(poolSize: 6) { pool, _ in
            let queue = JobQueue(pool: pool)
            let worker = Worker(
                queue: queue,
                configuration: WorkerConfiguration(
                    slots: 2, pollInterval: .milliseconds(50), gracePeriod: .seconds(1), workerID: "leaving"
                ),
                handlers: ["sleep": handler], listenerConfiguration: nil, metrics: WorkerMetrics(factory: TestMetrics()),
                logger: Logger(label: "worker-test")
            )
            let group = ServiceGroup(services: [worker], logger: Logger(label: "worker-test"))
            let running = Task { try await group.run() }
            var ids = try await queue.enqueue([
                JobRequest(kind: "sleep", payload: ["seconds": 0.5]), JobRequest(kind: "sleep", payload: ["seconds": 20]),
            ])
            try await Self.waitFor(pool, "(SELECT count(*) FROM jobs WHERE state = 'running') = 2")
            await group.triggerGracefulShutdown()
            let stopping = ContinuousClock.now
            while worker.isClaiming && ContinuousClock.now - stopping < .seconds(1) {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(!worker.isClaiming, "claiming stops at once")
            // Due now, with a slot about to free up: it must stay queued.
            ids += try await queue.enqueue([JobRequest(kind: "sleep", payload: ["seconds": 0])])
            let started = ContinuousClock.now
            try await running.value
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await queue.job(ids[0]).state == .succeeded, "finished within the grace period")
            let handedBack = try await queue.job(ids[1])
            #expect(handedBack.state == .queued)
            #expect(handedBack.attempts == 0)
            #expect(handedBack.workerID == nil)
            let neverClaimed = try await queue.job(ids[2])
            #expect(neverClaimed.state == .queued)
            #expect(neverClaimed.attempts == 0)
        }
    }

    @Test func batchedCompletionAndHeartbeatHonourFences() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            try await queue.enqueue((0..<4).map { _ in JobRequest(kind: "batch") })
            let held = try await queue.claim(queue: "default", limit: 4, lease: .seconds(30), workerID: "w1")
            #expect(held.count == 4)
            try await pool.query("UPDATE jobs SET fence = fence + 1 WHERE id = $1", [held[0].id])
            #expect(try await queue.cancel(held[1].id) == .requested)
            let beats = try await queue.heartbeat(held, lease: .seconds(60))
            #expect(beats[held[0].id] == nil, "a stale fence is not renewed")
            #expect(beats[held[1].id] == true, "cancellation is reported")
            #expect(beats[held[2].id] == false)
            let completed = try await queue.complete(held)
            #expect(completed == [held[1].id, held[2].id, held[3].id])
            #expect(try await queue.job(held[0].id).state == .running)
            #expect(try await queue.job(held[3].id).state == .succeeded)
            #expect(try await queue.complete(held).isEmpty, "completing twice changes nothing")
        }
    }

    @Test func fencedTransactionsCommitOnlyWhileTheLeaseHolds() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            try await pool.query("CREATE TABLE effects (key text PRIMARY KEY)")
            try await queue.enqueue([JobRequest(kind: "fenced")])
            let job = try #require(try await queue.claim(queue: "default", limit: 1, lease: .seconds(30), workerID: "w1").first)
            try await queue.withFencedTransaction(job) { connection in
                _ = try connection.execute("INSERT INTO effects VALUES ('first')")
            }
            try await pool.query("UPDATE jobs SET fence = fence + 1")
            await #expect(throws: JobQueueError.leaseLost) {
                try await queue.withFencedTransaction(job) { connection in
                    _ = try connection.execute("INSERT INTO effects VALUES ('second')")
                }
            }
            let rows = try await pool.query("SELECT key FROM effects ORDER BY key")
            #expect(try rows.map { try $0.decode(String.self, "key") } == ["first"])
        }
    }
}
