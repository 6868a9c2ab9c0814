public import CoreMetrics
import Foundation
import Postgres

/// What workers report: jobs claimed, finished by outcome, retried and dead; claim-to-finish
/// durations by kind; how long jobs waited to start; leases lost and rescued; busy slots.
public struct WorkerMetrics: Sendable {
    let factory: any MetricsFactory
    let busySlots: Gauge
    let leasesLost: Counter
    let leasesRescued: Counter

    /// Metrics created through `factory` (e.g. a Prometheus factory the process exports).
    public init(factory: any MetricsFactory) {
        self.factory = factory
        busySlots = Gauge(label: "provisioner_worker_busy_slots", factory: factory)
        leasesLost = Counter(label: "provisioner_jobs_leases_lost_total", factory: factory)
        leasesRescued = Counter(label: "provisioner_jobs_leases_rescued_total", factory: factory)
    }

    func claimed(_ job: ClaimedJob) {
        Counter(label: "provisioner_jobs_claimed_total", dimensions: [("queue", job.queue)], factory: factory)
            .increment()
        // Enqueue (or retry time) to start, by the database's clock.
        Timer(label: "provisioner_job_enqueue_to_start_seconds", dimensions: [("queue", job.queue)], factory: factory)
            .recordNanoseconds(job.waited.nanoseconds)
    }

    /// A job left this worker: `outcome` is the job's new state, or `lost` / `released`.
    func finished(_ job: ClaimedJob, outcome: String, after duration: Duration) {
        Counter(
            label: "provisioner_jobs_finished_total", dimensions: [("kind", job.kind), ("outcome", outcome)],
            factory: factory
        ).increment()
        Timer(
            label: "provisioner_job_claim_to_finish_seconds", dimensions: [("kind", job.kind)], factory: factory
        ).recordNanoseconds(duration.nanoseconds)
        switch outcome {
        case JobState.failed.rawValue:
            Counter(label: "provisioner_jobs_retries_total", dimensions: [("kind", job.kind)], factory: factory)
                .increment()
        case JobState.dead.rawValue:
            Counter(label: "provisioner_jobs_dead_total", dimensions: [("kind", job.kind)], factory: factory)
                .increment()
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
