/// What the queue refuses.
public enum JobQueueError: Error, Sendable, Equatable {
    /// The caller's fence no longer matches: its lease expired and the job was rescued, claimed by
    /// another worker, cancelled or finished. The call changed nothing; the worker must stop.
    case leaseLost
    case notFound
    /// A request the queue cannot hold (empty kind or queue, fewer than one attempt).
    case invalidRequest(String)
}
