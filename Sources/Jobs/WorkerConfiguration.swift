import Foundation

/// How a worker process takes and runs jobs.
public struct WorkerConfiguration: Sendable {
    /// The queues claimed from, in turn.
    public var queues: [String]
    /// Jobs run at the same time by this process.
    public var slots: Int
    /// How long a claimed job stays held without a heartbeat.
    public var lease: Duration
    /// How often held leases are renewed (default a third of the lease).
    public var heartbeatInterval: Duration
    /// How often the worker looks for due jobs without being notified (the fallback for missed
    /// notifications, and for retries and scheduled jobs becoming due).
    public var pollInterval: Duration
    /// How often expired leases of any worker are rescued.
    public var rescueInterval: Duration
    /// At shutdown, how long running jobs may take to finish before they are handed back.
    public var gracePeriod: Duration
    /// Most jobs taken by one claim.
    public var claimBatch: Int
    /// With only a few slots free while others are busy, how long to wait for more to free up
    /// before claiming (fewer, larger claims under load; no delay when idle).
    public var claimCoalescing: Duration
    /// A job of a kind this worker has no handler for is handed back, claimable after this delay
    /// (a newer worker may know it).
    public var unknownKindDelay: Duration
    /// Finished jobs are deleted after this long; `nil` keeps them.
    public var retention: Duration?
    public var pruneInterval: Duration
    /// After this process claimed this many jobs, it vacuums the jobs table (``JobQueue/vacuum()``)
    /// at its next ``vacuumCheckInterval``; `nil` leaves it to autovacuum. Each claim leaves the
    /// claimed jobs' entries dead at the front of the claim index, and only a vacuum removes their
    /// emptied pages: until then every claim walks over them. Autovacuum visits a database at most
    /// once per `autovacuum_naptime` (a minute by default), far too seldom at thousands of jobs a
    /// second.
    public var vacuumAfterClaims: Int?
    public var vacuumCheckInterval: Duration
    /// Names this process in the jobs it holds and in logs.
    public var workerID: String

    public init(
        queues: [String] = ["default"], slots: Int = 4, lease: Duration = .seconds(30), heartbeatInterval: Duration? = nil,
        pollInterval: Duration = .seconds(2), rescueInterval: Duration = .seconds(5), gracePeriod: Duration = .seconds(25),
        claimBatch: Int = 100, claimCoalescing: Duration = .milliseconds(2), unknownKindDelay: Duration = .seconds(30),
        retention: Duration? = .seconds(7 * 86400),
        pruneInterval: Duration = .seconds(600), vacuumAfterClaims: Int? = 10_000,
        vacuumCheckInterval: Duration = .seconds(1), workerID: String = WorkerConfiguration.defaultWorkerID()
    ) {
        self.queues = queues
        self.slots = max(slots, 1)
        self.lease = lease
        self.heartbeatInterval = heartbeatInterval ?? lease / 3
        self.pollInterval = pollInterval
        self.rescueInterval = rescueInterval
        self.gracePeriod = gracePeriod
        self.claimBatch = max(claimBatch, 1)
        self.claimCoalescing = claimCoalescing
        self.unknownKindDelay = unknownKindDelay
        self.retention = retention
        self.pruneInterval = pruneInterval
        self.vacuumAfterClaims = vacuumAfterClaims.map { max($0, 1) }
        self.vacuumCheckInterval = vacuumCheckInterval
        self.workerID = workerID
    }

    /// `host:pid:random`, unique among running workers.
    public static func defaultWorkerID() -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(suffix)"
    }
}
