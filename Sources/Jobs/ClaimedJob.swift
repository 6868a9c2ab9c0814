public import Foundation
public import JWT

/// A job a worker holds: its lease lasts until `leaseExpiresAt` unless renewed by heartbeats, and
/// every change the worker makes to it names `fence`.
public struct ClaimedJob: Sendable, Equatable {
    public var id: UUID
    public var kind: String
    public var queue: String
    public var payload: JSONValue
    public var priority: Int16
    /// This attempt's number, from 1.
    public var attempts: Int
    public var maxAttempts: Int
    /// Incremented at each claim: only the latest claimer's fence is accepted.
    public var fence: Int64
    public var leaseExpiresAt: Date
    public var concurrencyKey: String?
    public var organization: String?
    public var tenant: String?
    public var stack: String?
    public var createdBy: String?
    public var requestID: String?
    /// How long the job waited between becoming due (enqueued, or its retry time) and this claim,
    /// by the database's clock.
    public var waited: Duration = .zero
}
