public import Foundation
public import JWT

/// A job to enqueue.
public struct JobRequest: Sendable, Equatable {
    /// What to do (`tenant.provision`, `stack.render`, ...): selects the handler.
    public var kind: String
    public var payload: JSONValue
    /// Only workers taking this queue claim the job (e.g. a region's workers).
    public var queue: String
    /// Higher runs first among due jobs of a queue.
    public var priority: Int16
    /// Not claimed before this time; `nil` is now.
    public var runAt: Date?
    public var maxAttempts: Int
    /// Jobs sharing a key never run at the same time (e.g. `tenant:<id>`, `stack:<id>`).
    public var concurrencyKey: String?
    public var organization: String?
    public var tenant: String?
    public var stack: String?
    /// The actor who asked for the work.
    public var createdBy: String?
    public var requestID: String?
    /// The job's id when the caller chose it (e.g. to record it as a tenant's `last_job` in the same
    /// transaction); `nil`: a new time-ordered id.
    public var id: UUID?

    public init(
        kind: String, payload: JSONValue = [:], queue: String = "default", priority: Int16 = 0, runAt: Date? = nil,
        maxAttempts: Int = 5, concurrencyKey: String? = nil, organization: String? = nil, tenant: String? = nil,
        stack: String? = nil, createdBy: String? = nil, requestID: String? = nil
    ) {
        self.kind = kind
        self.payload = payload
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.concurrencyKey = concurrencyKey
        self.organization = organization
        self.tenant = tenant
        self.stack = stack
        self.createdBy = createdBy
        self.requestID = requestID
    }

    func validate() throws(JobQueueError) {
        guard !kind.isEmpty else {
            throw .invalidRequest("kind is empty")
        }
        guard !queue.isEmpty else {
            throw .invalidRequest("queue is empty")
        }
        guard maxAttempts >= 1 else {
            throw .invalidRequest("max_attempts is below 1")
        }
    }
}
