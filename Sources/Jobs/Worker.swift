import CoreMetrics
import Foundation
public import Logging
public import Postgres
public import ServiceLifecycle
import Synchronization

/// Runs jobs from the queue in a fixed number of slots.
///
/// Claims in batches as slots free up, woken by `LISTEN` notifications of new jobs, with polling as
/// the fallback. One heartbeat statement renews the leases of all held jobs; completions are
/// written in batches (whatever finished while the previous batch was being written). Expired
/// leases of any worker are rescued periodically, and finished jobs pruned after the retention.
///
/// Graceful shutdown stops claiming at once, lets running jobs finish within the grace period,
/// then interrupts the rest and hands them back (claimable at once, the attempt not counted).
/// When the database is unreachable, changes are retried until the job's lease would have
/// expired; a job whose lease could not be confirmed in time is interrupted, never finished
/// blindly.
public final class Worker: Service, Sendable {
    let queue: JobQueue
    let configuration: WorkerConfiguration
    let handlers: [String: any JobHandler]
    let listenerConfiguration: PostgresConfiguration?
    let metrics: WorkerMetrics
    let logger: Logger
    private let state = Mutex(State())

    struct Held {
        var context: JobContext
        var claimedAt: ContinuousClock.Instant
        /// Until when this process knows the lease holds (from the start of the claim or of the
        /// last successful heartbeat).
        var leaseDeadline: ContinuousClock.Instant
    }

    struct State {
        var claiming = true
        var held: [UUID: Held] = [:]
        var wake: AsyncStream<Void>.Continuation?
        var flush: AsyncStream<Void>.Continuation?
        /// Jobs whose handler returned, waiting for the next completion batch; each still holds
        /// its slot until its completion is written.
        var pendingCompletions: [ClaimedJob] = []
        /// Jobs claimed since this process last vacuumed the jobs table.
        var claimsSinceVacuum = 0
    }

    /// - Parameter listenerConfiguration: where to `LISTEN` for new jobs; `nil` polls only.
    public init(
        queue: JobQueue, configuration: WorkerConfiguration, handlers: [String: any JobHandler],
        listenerConfiguration: PostgresConfiguration?, metrics: WorkerMetrics, logger: Logger
    ) {
        self.queue = queue
        self.configuration = configuration
        self.handlers = handlers
        self.listenerConfiguration = listenerConfiguration
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerID)"
        self.logger = logger
    }

    /// Whether the worker still claims jobs (false once shutdown began).
    public var isClaiming: Bool {
        state.withLock { $0.claiming }
    }

    /// The jobs this process holds now.
    public var heldJobs: Int {
        state.withLock { $0.held.count }
    }

    /// Stops claiming; running jobs go on (``run()`` then drains). Also called on graceful shutdown.
    public func stopClaiming() {
        let wake = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.claiming = false
            return state.wake
        }
        wake?.yield()
    }

    public func run() async throws {
        let (wakes, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let (flushes, flushContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        state.withLock { state in
            state.wake = wakeContinuation
            state.flush = flushContinuation
        }
        let listener = try listenerConfiguration.map {
            try PostgresListener(configuration: $0, channels: [JobQueue.notificationChannel], logger: logger)
        }
        listener?.start()
        logger.info(
            "worker started",
            metadata: [
                "worker.queues": "\(configuration.queues.joined(separator: ","))",
                "worker.slots": "\(configuration.slots)",
            ]
        )
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { background in
                if let listener {
                    background.addTask { await self.relayNotifications(listener) }
                }
                background.addTask { await self.repeatEvery(self.configuration.pollInterval) { self.wake() } }
                background.addTask { await self.repeatEvery(self.configuration.heartbeatInterval) { await self.heartbeat() } }
                background.addTask { await self.repeatEvery(self.configuration.rescueInterval) { await self.rescue() } }
                background.addTask { await self.writeCompletions(flushes) }
                if let threshold = self.configuration.vacuumAfterClaims {
                    background.addTask {
                        await self.repeatEvery(self.configuration.vacuumCheckInterval) {
                            await self.vacuum(after: threshold)
                        }
                    }
                }
                if let retention = self.configuration.retention {
                    background.addTask {
                        await self.repeatEvery(self.configuration.pruneInterval) { await self.prune(retention) }
                    }
                }
                await withDiscardingTaskGroup { jobs in
                    await self.dispatch(wakes, into: &jobs)
                    let deadline = ContinuousClock.now + self.configuration.gracePeriod
                    jobs.addTask { await self.awaitDrained(until: deadline) }
                }
                // Completions submitted since the last batch (e.g. by jobs interrupted at the end
                // of the grace period that finished anyway) are written before stopping.
                await self.writePendingCompletions()
                background.cancelAll()
            }
        } onGracefulShutdown: {
            self.logger.info("shutdown requested: claiming stopped")
            self.stopClaiming()
        }
        listener?.stop()
        await listener?.close()
        logger.info("worker stopped")
    }

    // MARK: - Claiming

    func wake() {
        _ = state.withLock { $0.wake }?.yield()
    }

    private func relayNotifications(_ listener: PostgresListener) async {
        let queues = Set(configuration.queues)
        for await event in listener.events {
            switch event {
            case .notification(let notification):
                if queues.contains(notification.payload) {
                    wake()
                }
            case .listening, .reconnected:
                wake()
            }
        }
    }

    private func repeatEvery(_ interval: Duration, _ body: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await body()
        }
    }

    /// On each wake-up, claims until the slots are full or nothing is due; returns once claiming
    /// stopped.
    private func dispatch(_ wakes: AsyncStream<Void>, into jobs: inout DiscardingTaskGroup) async {
        var nextQueue = 0
        var backoff = Duration.milliseconds(50)
        wake()
        // Under load, slots free up one by one: a claim for each would be many small transactions.
        // When few slots are free and others are busy, wait a moment for more to free up.
        let worthwhile = min(configuration.claimBatch, max(configuration.slots / 4, 1))
        for await _ in wakes {
            while true {
                var (claiming, free) = state.withLock { ($0.claiming, configuration.slots - $0.held.count) }
                guard claiming else {
                    return
                }
                guard free > 0 else {
                    break
                }
                if free < worthwhile && free < configuration.slots {
                    try? await Task.sleep(for: configuration.claimCoalescing)
                    (claiming, free) = state.withLock { ($0.claiming, configuration.slots - $0.held.count) }
                    guard claiming else {
                        return
                    }
                }
                let limit = min(free, configuration.claimBatch)
                let started = ContinuousClock.now
                var claimed: [ClaimedJob] = []
                do {
                    for offset in 0..<configuration.queues.count {
                        let index = (nextQueue + offset) % configuration.queues.count
                        claimed = try await queue.claim(
                            queue: configuration.queues[index], limit: limit, lease: configuration.lease,
                            workerID: configuration.workerID
                        )
                        if !claimed.isEmpty {
                            nextQueue = (index + 1) % configuration.queues.count
                            break
                        }
                    }
                    backoff = .milliseconds(50)
                } catch {
                    logger.warning("claim failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                    continue
                }
                let accepted = state.withLock { state -> Bool in
                    guard state.claiming else {
                        return false
                    }
                    state.claimsSinceVacuum += claimed.count
                    for job in claimed {
                        let context = JobContext(job: job, queue: queue, logger: logger, workerID: configuration.workerID)
                        state.held[job.id] = Held(
                            context: context, claimedAt: started, leaseDeadline: started + configuration.lease
                        )
                    }
                    return true
                }
                guard accepted else {
                    // Shutdown began while claiming: these were never started.
                    for job in claimed {
                        await handBack(job)
                    }
                    return
                }
                metrics.busySlots.record(state.withLock { $0.held.count })
                for job in claimed {
                    metrics.claimed(job)
                    jobs.addTask { await self.perform(job) }
                }
                // Nothing came back: nothing is due. A short batch (jobs sharing a concurrency key
                // are taken one per claim) is followed by another claim.
                if claimed.isEmpty {
                    break
                }
            }
        }
    }

    private func handBack(_ job: ClaimedJob, after delay: Duration = .zero) async {
        let outcome = await persist(job) { try await self.queue.release(job, after: delay) }
        if case .failure(let error) = outcome {
            logger.warning("could not hand a job back", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
        }
    }

    /// Returns when no job is held, or at `deadline` after interrupting those still running.
    private func awaitDrained(until deadline: ContinuousClock.Instant) async {
        while state.withLock({ !$0.held.isEmpty }) {
            if ContinuousClock.now >= deadline {
                let contexts = state.withLock { $0.held.values.map(\.context) }
                logger.warning("grace period over: handing running jobs back", metadata: ["jobs": "\(contexts.count)"])
                for context in contexts {
                    context.interrupt(.shuttingDown)
                }
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: - Running one job

    private enum Outcome {
        case finished(JobState)
        case lost
        case released
    }

    private func perform(_ job: ClaimedJob) async {
        guard let context = state.withLock({ $0.held[job.id]?.context }) else {
            return
        }
        guard let handler = handlers[job.kind] else {
            jobLogger(job).warning("no handler for this kind: handed back")
            await handBack(job, after: configuration.unknownKindDelay)
            settle([(job, .released)])
            return
        }
        let result = await withTaskCancellationHandler {
            await HandlerRun().run(handler, context)
        } onCancel: {
            context.interrupt(.shuttingDown)
        }
        switch result {
        case .success:
            // Written with others by `writeCompletions`, which then frees the slot.
            submitCompletion(job)
        case .failure(let error):
            // An interruption may have cancelled this task: what the failure writes (hand back,
            // cancellation, retry) runs in a task of its own, which is not cancelled.
            let outcome = await Task { await self.recordFailure(error, of: job, context: context) }.value
            settle([(job, outcome)])
        }
    }

    /// Frees the slots of jobs that left this worker, records their metrics and wakes the claim
    /// loop.
    private func settle(_ jobs: [(job: ClaimedJob, outcome: Outcome)]) {
        let now = ContinuousClock.now
        let (claimedAt, remaining) = state.withLock { state -> ([ContinuousClock.Instant?], Int) in
            let claimedAt = jobs.map { state.held.removeValue(forKey: $0.job.id)?.claimedAt }
            return (claimedAt, state.held.count)
        }
        for ((job, outcome), claimed) in zip(jobs, claimedAt) {
            let label: String
            switch outcome {
            case .finished(let state):
                label = state.rawValue
            case .lost:
                label = "lost"
                metrics.leasesLost.increment()
                jobLogger(job).warning("lease lost: the job's result was not recorded")
            case .released:
                label = "released"
            }
            metrics.finished(job, outcome: label, after: claimed.map { now - $0 } ?? .zero)
        }
        metrics.busySlots.record(remaining)
        wake()
    }

    /// The worker's logger with the job's id and kind (made only when something is logged).
    private func jobLogger(_ job: ClaimedJob) -> Logger {
        var logger = self.logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind)"
        return logger
    }

    private func recordFailure(_ error: any Error, of job: ClaimedJob, context: JobContext) async -> Outcome {
        switch context.interruption {
        case .leaseLost:
            return .lost
        case .shuttingDown:
            await handBack(job)
            return .released
        case .cancellationRequested, nil:
            break
        }
        if error as? JobInterruption == .cancellationRequested || context.isCancellationRequested {
            switch await persist(job, { try await self.queue.acknowledgeCancellation(job) }) {
            case .success:
                jobLogger(job).info("job cancelled at a step")
                return .finished(.cancelled)
            case .failure:
                return .lost
            }
        }
        if error as? JobInterruption == .leaseLost {
            return .lost
        }
        let permanent = error is JobFailure
        let message = Self.describe(error)
        switch await persist(job, { try await self.queue.fail(job, error: message, permanent: permanent) }) {
        case .success(let state):
            jobLogger(job).warning(
                "job attempt failed",
                metadata: ["job.attempt": "\(job.attempts)", "job.state": "\(state.rawValue)", "error": "\(message)"]
            )
            return .finished(state)
        case .failure:
            return .lost
        }
    }

    /// A failure as kept on the job: bounded, and without the type noise of `Error` descriptions.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 2000 ? String(text.prefix(2000)) + "…" : text
    }

    /// Runs `change` for `job`, again while the database is unreachable, until the job's lease
    /// would have expired. A lost fence is final.
    private func persist<T: Sendable>(
        _ job: ClaimedJob, _ change: @Sendable () async throws -> T
    ) async -> Result<T, any Error> {
        let deadline = state.withLock { $0.held[job.id]?.leaseDeadline } ?? (ContinuousClock.now + configuration.lease)
        var backoff = Duration.milliseconds(50)
        while true {
            do {
                return .success(try await change())
            } catch let error as DatabaseError where error.isUnavailable && ContinuousClock.now + backoff < deadline {
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            } catch {
                return .failure(error)
            }
        }
    }

    // MARK: - Completions in batches

    /// Queues `job`'s completion for the next batch.
    private func submitCompletion(_ job: ClaimedJob) {
        let flush = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.pendingCompletions.append(job)
            return state.flush
        }
        flush?.yield()
    }

    private func writeCompletions(_ flushes: AsyncStream<Void>) async {
        for await _ in flushes {
            await writePendingCompletions()
        }
    }

    /// Writes the waiting completions in batches (whatever finished while the previous batch was
    /// being written), then frees their slots.
    private func writePendingCompletions() async {
        while true {
            let jobs = state.withLock { state -> [ClaimedJob] in
                defer { state.pendingCompletions.removeAll() }
                return state.pendingCompletions
            }
            guard !jobs.isEmpty else {
                return
            }
            var backoff = Duration.milliseconds(50)
            let deadline = ContinuousClock.now + configuration.lease
            var recorded: Set<UUID> = []
            while true {
                do {
                    recorded = try await queue.complete(jobs)
                    break
                } catch let error as DatabaseError where error.isUnavailable && ContinuousClock.now + backoff < deadline {
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(1))
                } catch {
                    logger.error("recording completions failed", metadata: ["jobs": "\(jobs.count)", "error": "\(error)"])
                    break
                }
            }
            settle(jobs.map { ($0, recorded.contains($0.id) ? .finished(.succeeded) : .lost) })
        }
    }

    // MARK: - Heartbeats, rescue, pruning

    private func heartbeat() async {
        let held = state.withLock { state in state.held.values.map(\.context) }
        guard !held.isEmpty else {
            return
        }
        let sent = ContinuousClock.now
        do {
            let answer = try await queue.heartbeat(held.map(\.job), lease: configuration.lease)
            state.withLock { state in
                for context in held where answer[context.job.id] != nil {
                    state.held[context.job.id]?.leaseDeadline = sent + configuration.lease
                }
            }
            for context in held {
                switch answer[context.job.id] {
                case .none:
                    context.interrupt(.leaseLost)
                case .some(true):
                    context.requestCancellation()
                case .some(false):
                    break
                }
            }
        } catch {
            logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            let now = ContinuousClock.now
            let expired = state.withLock { state in
                state.held.values.filter { $0.leaseDeadline <= now }.map(\.context)
            }
            for context in expired {
                context.interrupt(.leaseLost)
            }
        }
    }

    private func rescue() async {
        do {
            let rescued = try await queue.rescueExpiredLeases()
            if !rescued.isEmpty {
                metrics.rescued(rescued)
                logger.info("expired leases rescued", metadata: ["jobs": "\(rescued.count)"])
                wake()
            }
        } catch {
            logger.warning("rescuing expired leases failed", metadata: ["error": "\(error)"])
        }
    }

    /// Vacuums the jobs table once this process claimed `threshold` jobs since it last did.
    private func vacuum(after threshold: Int) async {
        let due = state.withLock { state -> Bool in
            guard state.claimsSinceVacuum >= threshold else {
                return false
            }
            state.claimsSinceVacuum = 0
            return true
        }
        guard due else {
            return
        }
        let started = ContinuousClock.now
        do {
            try await queue.vacuum()
            logger.debug("jobs table vacuumed", metadata: ["duration": "\(ContinuousClock.now - started)"])
        } catch {
            logger.warning("vacuuming the jobs table failed", metadata: ["error": "\(error)"])
        }
    }

    private func prune(_ retention: Duration) async {
        do {
            let pruned = try await queue.prune(olderThan: retention)
            if pruned > 0 {
                logger.info("finished jobs pruned", metadata: ["jobs": "\(pruned)"])
            }
        } catch {
            logger.warning("pruning finished jobs failed", metadata: ["error": "\(error)"])
        }
    }
}
