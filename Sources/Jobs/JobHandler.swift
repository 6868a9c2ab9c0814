public import Logging
public import Postgres
import Synchronization

/// Runs the jobs of one kind. Every step must be safe to run again: a job killed at any point is
/// run again from the start by another attempt.
///
/// Returning marks the job succeeded; throwing records a failed attempt (retried with backoff,
/// `dead` after the last one). Throwing ``JobFailure/permanent(_:)`` ends the job `dead` at once.
/// Handlers should report progress with ``JobContext/step(_:)``, which is also where they learn
/// that the job was cancelled, and should let task cancellation stop them (the worker cancels a
/// handler whose lease was lost or whose grace period at shutdown ran out).
public protocol JobHandler: Sendable {
    func run(_ context: JobContext) async throws
}

/// A handler made of a closure.
public struct JobClosureHandler: JobHandler {
    let body: @Sendable (JobContext) async throws -> Void

    public init(_ body: @escaping @Sendable (JobContext) async throws -> Void) {
        self.body = body
    }

    public func run(_ context: JobContext) async throws {
        try await body(context)
    }
}

/// Failures a handler reports on purpose.
public enum JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Running the job again cannot help (e.g. its payload is invalid): it ends `dead` now.
    case permanent(String)

    public var description: String {
        switch self {
        case .permanent(let message): message
        }
    }
}

/// Why a job stopped before its handler returned.
public enum JobInterruption: Error, Sendable, Equatable {
    /// Cancellation was requested (seen at a step or heartbeat); the job ends `cancelled`.
    case cancellationRequested
    /// The worker no longer holds the job (lease expired and rescued, or the database could not
    /// confirm the lease in time); nothing more may be changed.
    case leaseLost
    /// The worker is shutting down and its grace period ran out; the job is handed back.
    case shuttingDown
}

/// What a handler gets: the claimed job, its queue and ways to report progress and do fenced work.
public final class JobContext: Sendable {
    public let job: ClaimedJob
    public let queue: JobQueue
    public let logger: Logger
    public let workerID: String
    private let state = Mutex(State())

    struct State {
        var cancellationRequested = false
        var interruption: JobInterruption?
        var onInterrupt: (@Sendable (JobInterruption) -> Void)?
    }

    init(job: ClaimedJob, queue: JobQueue, logger: Logger, workerID: String) {
        self.job = job
        self.queue = queue
        self.logger = logger
        self.workerID = workerID
    }

    /// Whether cancellation was requested (as of the last heartbeat or step).
    public var isCancellationRequested: Bool {
        state.withLock { $0.cancellationRequested }
    }

    /// The interruption that stopped the job, if any.
    public var interruption: JobInterruption? {
        state.withLock { $0.interruption }
    }

    /// Throws when the job must stop: lost, shutting down, or cancellation requested.
    public func checkpoint() throws(JobInterruption) {
        let (interruption, cancelled) = state.withLock { ($0.interruption, $0.cancellationRequested) }
        if let interruption {
            throw interruption
        }
        if cancelled {
            throw JobInterruption.cancellationRequested
        }
    }

    /// Records that the step `name` was reached (visible in the job's progress), then stops the
    /// job if cancellation was requested or the lease was lost.
    public func step(_ name: String) async throws {
        try checkpoint()
        let cancelled: Bool
        do {
            cancelled = try await queue.recordStep(job, name)
        } catch JobQueueError.leaseLost {
            interrupt(.leaseLost)
            throw JobInterruption.leaseLost
        }
        if cancelled {
            requestCancellation()
        }
        try checkpoint()
    }

    /// Runs `body` in a transaction that commits only while this worker holds the job (see
    /// ``JobQueue/withFencedTransaction(_:_:)``).
    public func withFencedTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try checkpoint()
        do {
            return try await queue.withFencedTransaction(job, body)
        } catch JobQueueError.leaseLost {
            interrupt(.leaseLost)
            throw JobInterruption.leaseLost
        }
    }

    // MARK: - Worker side

    func requestCancellation() {
        state.withLock { $0.cancellationRequested = true }
    }

    /// Stops the job for `reason` (the first reason wins) and tells whoever waits for it.
    func interrupt(_ reason: JobInterruption) {
        let callback = state.withLock { state -> (@Sendable (JobInterruption) -> Void)? in
            guard state.interruption == nil else {
                return nil
            }
            state.interruption = reason
            return state.onInterrupt
        }
        callback?(reason)
    }

    /// Calls `callback` on interruption, at once if the job was already interrupted.
    func onInterrupt(_ callback: @escaping @Sendable (JobInterruption) -> Void) {
        let already = state.withLock { state -> JobInterruption? in
            if let interruption = state.interruption {
                return interruption
            }
            state.onInterrupt = callback
            return nil
        }
        if let already {
            callback(already)
        }
    }
}
