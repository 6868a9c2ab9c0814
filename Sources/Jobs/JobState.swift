/// Where a job is in its life (the `jobs.state` column).
public enum JobState: String, Sendable, CaseIterable {
    /// Waiting for its `run_at`, then for a worker.
    case queued
    /// Claimed by a worker holding an unexpired lease.
    case running
    case succeeded
    /// An attempt failed; the job is claimable again from its new `run_at`.
    case failed
    /// Failed on its last attempt; its last error is kept.
    case dead
    case cancelled

    /// True for the states a job never leaves (pruned after the retention).
    public var isFinished: Bool {
        switch self {
        case .succeeded, .dead, .cancelled: true
        case .queued, .running, .failed: false
        }
    }
}
