/// One page of a job list, with the position to continue after when more follow.
public struct JobPage: Sendable, Equatable {
    public var items: [VersionedJob]
    /// The last item's position when more items follow; `nil` on the last page.
    public var nextAfter: JobListPosition?
}
