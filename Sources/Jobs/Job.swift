public import Foundation
public import JWT

/// One named step a worker reported, with when it was reached.
public struct JobStep: Sendable, Equatable {
    public var name: String
    public var at: Date
}

/// A job as stored, for following it (API, tests).
public struct Job: Sendable, Equatable {
    public var id: UUID
    public var kind: String
    public var queue: String
    public var payload: JSONValue
    public var priority: Int16
    public var state: JobState
    public var runAt: Date
    public var attempts: Int
    public var maxAttempts: Int
    public var fence: Int64
    public var leaseExpiresAt: Date?
    public var workerID: String?
    public var concurrencyKey: String?
    public var cancelRequested: Bool
    public var lastError: String?
    public var progress: [JobStep]
    public var organization: String?
    public var tenant: String?
    public var stack: String?
    public var createdBy: String?
    public var requestID: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}
