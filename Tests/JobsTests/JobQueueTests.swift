import Foundation
import JWT
import Jobs
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct JobQueueTests {
    static let fastRetries = RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(50), jitter: 0.5)

    static func count(_ pool: PostgresPool, where condition: String = "true") async throws -> Int {
        let rows = try await pool.query("SELECT count(*) AS n FROM jobs WHERE \(condition)")
        return try #require(rows.first).decode(Int.self, "n")
    }

    /// Claims from `queue` until a job comes back or `timeout` passes.
    static func claimOne(
        _ queue: JobQueue, from name: String = "default", lease: Duration = .seconds(30), worker: String = "w1",
        timeout: Duration = .seconds(10)
    ) async throws -> ClaimedJob {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let job = try await queue.claim(queue: name, limit: 1, lease: lease, workerID: worker).first {
                return job
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw JobQueueError.notFound
    }

    /// Waits until `job`'s lease has expired by the server's clock.
    static func waitForExpiry(_ pool: PostgresPool, _ job: ClaimedJob) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let expired = try await count(pool, where: "id = '\(job.id.uuidString.lowercased())' AND lease_expires_at < now()")
            if expired == 1 {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("lease did not expire")
    }

    @Test func enqueueInRolledBackTransactionLeavesNoJob() async throws {
        try await TestDatabase.withSchema { pool, _ in
            struct Rollback: Error {}
            await #expect(throws: Rollback.self) {
                try await pool.transaction { connection in
                    _ = try JobQueue.enqueue(JobRequest(kind: "tenant.provision"), on: connection)
                    throw Rollback()
                }
            }
            #expect(try await Self.count(pool) == 0)

            let id = try await pool.transaction { connection in
                try JobQueue.enqueue(
                    JobRequest(
                        kind: "tenant.provision", payload: ["tenant": "acme-prod", "size": 2], queue: "eu-west",
                        priority: 3, maxAttempts: 4, concurrencyKey: "tenant:acme-prod", organization: "acme",
                        tenant: "acme-prod", stack: "shared-1", createdBy: "alice", requestID: "req-1"
                    ),
                    on: connection
                )
            }
            let job = try await JobQueue(pool: pool).job(id)
            #expect(job.state == .queued && job.attempts == 0 && job.maxAttempts == 4 && job.fence == 0)
            #expect(job.payload == ["tenant": "acme-prod", "size": 2])
            #expect(job.queue == "eu-west" && job.priority == 3 && job.concurrencyKey == "tenant:acme-prod")
            #expect(job.organization == "acme" && job.tenant == "acme-prod" && job.stack == "shared-1")
            #expect(job.createdBy == "alice" && job.requestID == "req-1")
        }
    }

    @Test func invalidRequestsAreRefused() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            await #expect(throws: JobQueueError.invalidRequest("kind is empty")) {
                try await queue.enqueue([JobRequest(kind: "")])
            }
            await #expect(throws: JobQueueError.invalidRequest("max_attempts is below 1")) {
                try await queue.enqueue([JobRequest(kind: "x", maxAttempts: 0)])
            }
            let stored = try await Self.count(pool)
            #expect(stored == 0)
        }
    }

    /// Delivery itself is for the listener's tests: here, the trigger's channel is the published one.
    @Test func enqueueTriggerNotifiesThePublishedChannel() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let rows = try await pool.query(
                """
                SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                WHERE t.tgrelid = 'jobs'::regclass AND t.tgname = 'jobs_notify_enqueued'
                """
            )
            let source = try #require(rows.first).decode(String.self, "prosrc")
            #expect(source.contains("pg_notify('\(JobQueue.notificationChannel)', queue_name)"))
        }
    }

    @Test func bulkEnqueueOfAThousand() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let requests = (0..<1000).map { JobRequest(kind: "stack.render", payload: ["n": .number(Double($0))], queue: "bulk") }
            let ids = try await queue.enqueue(requests)
            #expect(ids.count == 1000 && Set(ids).count == 1000)
            #expect(try await Self.count(pool, where: "queue = 'bulk' AND state = 'queued'") == 1000)
            #expect(try await queue.job(ids[999]).payload == ["n": 999])
        }
    }

    @Test func concurrentClaimersNeverShareAJob() async throws {
        try await TestDatabase.withSchema(poolSize: 6) { pool, _ in
            let queue = JobQueue(pool: pool)
            try await queue.enqueue((0..<400).map { _ in JobRequest(kind: "x") })
            let claimed = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [UUID] = []
                        while true {
                            let batch = try await queue.claim(queue: "default", limit: 10, lease: .seconds(60), workerID: "w\(worker)")
                            if batch.isEmpty {
                                return mine
                            }
                            for job in batch {
                                try await queue.complete(job)
                                mine.append(job.id)
                            }
                        }
                    }
                }
                var all: [UUID] = []
                for try await ids in group {
                    all += ids
                }
                return all
            }
            #expect(claimed.count == 400)
            #expect(Set(claimed).count == 400)
            #expect(try await Self.count(pool, where: "state = 'succeeded' AND attempts = 1 AND fence = 1") == 400)
        }
    }

    @Test func jobsSharingAConcurrencyKeyNeverRunTogether() async throws {
        try await TestDatabase.withSchema(poolSize: 6) { pool, _ in
            let queue = JobQueue(pool: pool)
            let keys = ["tenant:a", "tenant:b", "stack:c"]
            try await queue.enqueue((0..<60).map { JobRequest(kind: "x", concurrencyKey: keys[$0 % keys.count]) })
            // One claim that sees every job (so all three keys) takes one job per key. (A smaller
            // limit picks its candidates before keeping one per key, so it may miss a key.)
            let first = try await queue.claim(queue: "default", limit: 60, lease: .seconds(60), workerID: "w0")
            #expect(first.count == 3 && Set(first.compactMap(\.concurrencyKey)) == Set(keys))
            #expect(try await queue.claim(queue: "default", limit: 10, lease: .seconds(60), workerID: "w1").isEmpty)
            for job in first {
                try await queue.complete(job)
            }

            let ledger = KeyLedger()
            let done = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var finished = 0
                        let deadline = ContinuousClock.now + .seconds(60)
                        while ledger.completed < 57 && ContinuousClock.now < deadline {
                            let batch = try await queue.claim(queue: "default", limit: 3, lease: .seconds(60), workerID: "w\(worker)")
                            if batch.isEmpty {
                                try await Task.sleep(for: .milliseconds(10))
                                continue
                            }
                            for job in batch {
                                let key = try #require(job.concurrencyKey)
                                ledger.start(key)
                                try await Task.sleep(for: .milliseconds(2))
                                ledger.stop(key)
                                try await queue.complete(job)
                                ledger.complete()
                                finished += 1
                            }
                        }
                        return finished
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(ledger.violations == 0)
            #expect(done == 57)
            #expect(try await Self.count(pool, where: "state = 'succeeded'") == 60)
        }
    }

    /// A claim racing another transaction that has just set a job with the same key running (not
    /// yet committed) is refused by the unique index; the claim is run again and takes nothing.
    @Test func claimRacingAnUncommittedRunningKeyTakesNothing() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let ids = try await queue.enqueue([JobRequest(kind: "x", concurrencyKey: "k"), JobRequest(kind: "x", concurrencyKey: "k")])
            let updated = KeyLedger()
            async let holder: Void = pool.withConnection { connection in
                try connection.simpleQuery("BEGIN")
                try connection.execute(
                    "UPDATE jobs SET state = 'running', lease_expires_at = now() + interval '1 minute' WHERE id = $1",
                    [ids[0]]
                )
                updated.complete()
                Thread.sleep(forTimeInterval: 1)
                try connection.simpleQuery("COMMIT")
            }
            while updated.completed == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            let claimed = try await queue.claim(queue: "default", limit: 5, lease: .seconds(30), workerID: "w")
            try await holder
            #expect(claimed.isEmpty)
            #expect(try await queue.job(ids[1]).state == .queued)
        }
    }

    @Test func staleFenceChangesNothing() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool, retryPolicy: Self.fastRetries)
            let id = try await queue.enqueue([JobRequest(kind: "x")])[0]
            let stale = try await Self.claimOne(queue, lease: .milliseconds(300), worker: "old")
            try await queue.recordStep(stale, "started")
            try await Self.waitForExpiry(pool, stale)
            let rescued = try await queue.rescueExpiredLeases()
            #expect(rescued.count == 1 && rescued[0].id == id && rescued[0].state == .failed)

            let current = try await Self.claimOne(queue, worker: "new")
            #expect(current.id == id && current.fence == stale.fence + 1 && current.attempts == 2)
            let before = try await queue.job(id)

            await #expect(throws: JobQueueError.leaseLost) { try await queue.complete(stale) }
            await #expect(throws: JobQueueError.leaseLost) { try await queue.fail(stale, error: "old") }
            await #expect(throws: JobQueueError.leaseLost) { try await queue.heartbeat(stale, lease: .seconds(60)) }
            await #expect(throws: JobQueueError.leaseLost) { try await queue.recordStep(stale, "late") }
            await #expect(throws: JobQueueError.leaseLost) { try await queue.acknowledgeCancellation(stale) }
            #expect(try await queue.job(id) == before)
            #expect(before.state == .running && before.workerID == "new" && before.lastError == JobQueue.leaseExpiredError)

            #expect(try await queue.heartbeat(current, lease: .seconds(60)) == false)
            try await queue.recordStep(current, "rendered")
            try await queue.complete(current)
            let finished = try await queue.job(id)
            #expect(finished.state == .succeeded && finished.finishedAt != nil && finished.leaseExpiresAt == nil)
            #expect(finished.progress.map(\.name) == ["started", "rendered"])
            await #expect(throws: JobQueueError.leaseLost) { try await queue.complete(current) }
        }
    }

    @Test func failingJobRetriesWithBackoffThenDiesWithItsLastError() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool, retryPolicy: Self.fastRetries)
            let id = try await queue.enqueue([JobRequest(kind: "x", maxAttempts: 3)])[0]

            var job = try await Self.claimOne(queue)
            #expect(try await queue.fail(job, error: "first", retryAfter: .seconds(3600)) == .failed)
            var stored = try await queue.job(id)
            #expect(stored.state == .failed && stored.lastError == "first" && stored.runAt > Date().addingTimeInterval(3000))
            #expect(try await queue.claim(queue: "default", limit: 1, lease: .seconds(30), workerID: "w").isEmpty)
            _ = try await pool.query("UPDATE jobs SET run_at = now() WHERE id = $1", [id])

            job = try await Self.claimOne(queue)
            #expect(job.attempts == 2)
            #expect(try await queue.fail(job, error: "second") == .failed)
            job = try await Self.claimOne(queue)
            #expect(job.attempts == 3)
            #expect(try await queue.fail(job, error: "third") == .dead)
            stored = try await queue.job(id)
            #expect(stored.state == .dead && stored.attempts == 3 && stored.lastError == "third" && stored.finishedAt != nil)
            #expect(try await queue.claim(queue: "default", limit: 1, lease: .seconds(30), workerID: "w").isEmpty)
        }
    }

    @Test(arguments: [1, 2, 3, 5, 10, 40])
    func backoffGrowsExponentiallyWithinJitterAndCap(attempt: Int) {
        let policy = RetryPolicy(base: .seconds(2), maximum: .seconds(300), jitter: 0.25)
        let full = min(2.0 * pow(2.0, Double(attempt - 1)), 300)
        let longest = policy.delay(afterAttempt: attempt, unit: 0)
        let shortest = policy.delay(afterAttempt: attempt, unit: 1)
        #expect(longest == .milliseconds(Int64(full * 1000)))
        #expect(shortest == .milliseconds(Int64((full * 0.75 * 1000).rounded())))
        for _ in 0..<20 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= shortest && delay <= longest)
        }
    }

    @Test func cancelStopsQueuedJobsAtOnceAndAsksRunningOnes() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let waiting = try await queue.enqueue([JobRequest(kind: "x", queue: "q1")])[0]
            let busy = try await queue.enqueue([JobRequest(kind: "x", queue: "q2")])[0]

            #expect(try await queue.cancel(waiting) == .cancelled)
            #expect(try await queue.job(waiting).state == .cancelled)
            #expect(try await queue.claim(queue: "q1", limit: 5, lease: .seconds(30), workerID: "w").isEmpty)
            #expect(try await queue.cancel(waiting) == .alreadyFinished(.cancelled))

            let running = try await Self.claimOne(queue, from: "q2")
            #expect(try await queue.heartbeat(running, lease: .seconds(30)) == false)
            #expect(try await queue.cancel(busy) == .requested)
            #expect(try await queue.job(busy).state == .running)
            #expect(try await queue.heartbeat(running, lease: .seconds(30)) == true)
            #expect(try await queue.recordStep(running, "stopping") == true)
            try await queue.acknowledgeCancellation(running)
            let stopped = try await queue.job(busy)
            #expect(stopped.state == .cancelled && stopped.finishedAt != nil)

            // A running job that fails after a cancel request ends cancelled, not retried.
            let other = try await queue.enqueue([JobRequest(kind: "x", queue: "q3")])[0]
            let third = try await Self.claimOne(queue, from: "q3")
            #expect(try await queue.cancel(other) == .requested)
            #expect(try await queue.fail(third, error: "interrupted") == .cancelled)

            await #expect(throws: JobQueueError.notFound) { try await queue.cancel(UUID()) }
        }
    }

    @Test func rescueRetriesExpiredLeasesAndBuriesExhaustedOnes() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let retried = try await queue.enqueue([JobRequest(kind: "x", queue: "a", maxAttempts: 2)])[0]
            let exhausted = try await queue.enqueue([JobRequest(kind: "x", queue: "b", maxAttempts: 1)])[0]
            let healthy = try await queue.enqueue([JobRequest(kind: "x", queue: "c")])[0]
            let first = try await Self.claimOne(queue, from: "a", lease: .milliseconds(300))
            let second = try await Self.claimOne(queue, from: "b", lease: .milliseconds(300))
            _ = try await Self.claimOne(queue, from: "c", lease: .seconds(60))
            try await Self.waitForExpiry(pool, first)
            try await Self.waitForExpiry(pool, second)

            let rescued = try await queue.rescueExpiredLeases()
            #expect(Dictionary(uniqueKeysWithValues: rescued.map { ($0.id, $0.state) }) == [retried: .failed, exhausted: .dead])
            #expect(try await queue.job(healthy).state == .running)
            #expect(try await queue.job(exhausted).lastError == JobQueue.leaseExpiredError)
            let again = try await Self.claimOne(queue, from: "a")
            #expect(again.id == retried && again.attempts == 2)
            #expect(try await queue.rescueExpiredLeases().isEmpty)
        }
    }

    @Test func pruneDeletesOnlyFinishedJobsPastRetention() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let ids = try await queue.enqueue((0..<5).map { _ in JobRequest(kind: "x") })
            for _ in 0..<3 {
                try await queue.complete(try await Self.claimOne(queue))
            }
            // Two of the finished jobs finished long ago.
            _ = try await pool.query(
                """
                UPDATE jobs SET finished_at = now() - interval '30 days'
                WHERE id IN (SELECT id FROM jobs WHERE state = 'succeeded' ORDER BY id LIMIT 2)
                """
            )
            #expect(try await queue.prune(olderThan: .seconds(7 * 86400), batchSize: 1) == 2)
            #expect(try await Self.count(pool) == 3)
            #expect(try await Self.count(pool, where: "state = 'queued'") == 2)
            #expect(try await queue.prune(olderThan: .seconds(7 * 86400)) == 0)
            #expect(ids.count == 5)
        }
    }

    @Test func futureJobsWaitAndPriorityOrdersClaims() async throws {
        try await TestDatabase.withSchema { pool, _ in
            let queue = JobQueue(pool: pool)
            let later = try await queue.enqueue([JobRequest(kind: "later", priority: 100, runAt: Date().addingTimeInterval(3600))])[0]
            try await queue.enqueue([
                JobRequest(kind: "low", priority: -1), JobRequest(kind: "normal"), JobRequest(kind: "high", priority: 10),
                JobRequest(kind: "other-region", queue: "us-east", priority: 50),
            ])
            var kinds: [String] = []
            for _ in 0..<3 {
                kinds.append(try await Self.claimOne(queue).kind)
            }
            #expect(kinds == ["high", "normal", "low"])
            #expect(try await queue.claim(queue: "default", limit: 10, lease: .seconds(30), workerID: "w").isEmpty)
            #expect(try await queue.job(later).state == .queued)
            let batch = try await queue.claim(queue: "us-east", limit: 10, lease: .seconds(30), workerID: "w")
            #expect(batch.map(\.kind) == ["other-region"])
        }
    }
}

/// Which concurrency keys the test's workers hold, and how often one was taken twice.
final class KeyLedger: Sendable {
    private let state = Mutex<(running: Set<String>, violations: Int, completed: Int)>(([], 0, 0))

    var violations: Int { state.withLock { $0.violations } }
    var completed: Int { state.withLock { $0.completed } }

    func complete() {
        state.withLock { $0.completed += 1 }
    }

    func start(_ key: String) {
        state.withLock { state in
            if !state.running.insert(key).inserted {
                state.violations += 1
            }
        }
    }

    func stop(_ key: String) {
        _ = state.withLock { $0.running.remove(key) }
    }
}

@Suite struct TimeOrderedIDTests {
    @Test func idsAreVersion7AndSortByTime() {
        let earlier = TimeOrderedID.make(at: Date(timeIntervalSince1970: 1_795_000_000))
        let later = TimeOrderedID.make(at: Date(timeIntervalSince1970: 1_795_000_000.002))
        let text = earlier.uuidString.lowercased()
        #expect(text.hasPrefix("01a1ee56-5e00-"), "48 bits of milliseconds first")
        #expect(Array(text)[14] == "7", "version 7")
        #expect("89ab".contains(Array(text)[19]), "RFC 9562 variant")
        #expect(earlier.uuidString < later.uuidString)
        #expect(TimeOrderedID.make() != TimeOrderedID.make())
    }
}
