public import Foundation

/// A job with the version of its row, for entity tags and list positions.
public struct VersionedJob: Sendable, Equatable {
    public var job: Job
    /// The row's `updated_at` in microseconds since the Unix epoch: every change to a job moves it.
    public var version: Int64
    public var updatedAt: Date
    /// Where the job sits in its organization's list, newest first.
    public var position: JobListPosition
}
