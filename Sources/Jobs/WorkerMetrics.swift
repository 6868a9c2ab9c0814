public import CoreMetrics
import Foundation
import Postgres
import Synchronization

/// What workers report: jobs claimed, finished by outcome, retried and dead; claim-to-finish
/// durations by kind; how long jobs waited to start; leases lost and rescued; busy slots.
///
/// Metric handles are made once per queue and per kind and outcome, then reused: looking them up in
/// the factory for every job would cost more than running a small job.
public final class WorkerMetrics: Sendable {
    let factory: any MetricsFactory
    let busySlots: Gauge
    let leasesLost: Counter
    let leasesRescued: Counter
    private let byQueue = Mutex([String: QueueHandles]())
    private let byKind = Mutex([String: KindHandles]())

    struct QueueHandles {
        var claimed: Counter
        var waited: CoreMetrics.Timer
    }

    struct KindHandles {
        var duration: CoreMetrics.Timer
        var retries: Counter
        var dead: Counter
        var finished: [String: Counter] = [:]
    }

    /// Metrics created through `factory` (e.g. a Prometheus factory the process exports).
    public init(factory: any MetricsFactory) {
        self.factory = factory
        busySlots = Gauge(label: "provisioner_worker_busy_slots", factory: factory)
        leasesLost = Counter(label: "provisioner_jobs_leases_lost_total", factory: factory)
        leasesRescued = Counter(label: "provisioner_jobs_leases_rescued_total", factory: factory)
    }

    private func queueHandles(_ queue: String) -> QueueHandles {
        byQueue.withLock { handles in
            if let existing = handles[queue] {
                return existing
            }
            let made = QueueHandles(
                claimed: Counter(label: "provisioner_jobs_claimed_total", dimensions: [("queue", queue)], factory: factory),
                // Enqueue (or retry time) to start, by the database's clock.
                waited: Timer(
                    label: "provisioner_job_enqueue_to_start_seconds", dimensions: [("queue", queue)], factory: factory
                )
            )
            handles[queue] = made
            return made
        }
    }

    private func kindHandles(_ kind: String, outcome: String) -> (KindHandles, Counter) {
        byKind.withLock { handles in
            var entry =
                handles[kind]
                ?? KindHandles(
                    duration: Timer(
                        label: "provisioner_job_claim_to_finish_seconds", dimensions: [("kind", kind)], factory: factory
                    ),
                    retries: Counter(label: "provisioner_jobs_retries_total", dimensions: [("kind", kind)], factory: factory),
                    dead: Counter(label: "provisioner_jobs_dead_total", dimensions: [("kind", kind)], factory: factory)
                )
            let finished =
                entry.finished[outcome]
                ?? Counter(
                    label: "provisioner_jobs_finished_total", dimensions: [("kind", kind), ("outcome", outcome)],
                    factory: factory
                )
            entry.finished[outcome] = finished
            handles[kind] = entry
            return (entry, finished)
        }
    }

    func claimed(_ job: ClaimedJob) {
        let handles = queueHandles(job.queue)
        handles.claimed.increment()
        handles.waited.recordNanoseconds(job.waited.nanoseconds)
    }

    /// A job left this worker: `outcome` is the job's new state, or `lost` / `released`.
    func finished(_ job: ClaimedJob, outcome: String, after duration: Duration) {
        let (handles, finished) = kindHandles(job.kind, outcome: outcome)
        finished.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
        switch outcome {
        case JobState.failed.rawValue:
            handles.retries.increment()
        case JobState.dead.rawValue:
            handles.dead.increment()
        default:
            break
        }
    }

    func rescued(_ outcomes: [(id: UUID, state: JobState)]) {
        leasesRescued.increment(by: outcomes.count)
        let dead = outcomes.filter { $0.state == .dead }.count
        if dead > 0 {
            Counter(label: "provisioner_jobs_dead_total", dimensions: [("kind", "rescued")], factory: factory)
                .increment(by: dead)
        }
    }
}
