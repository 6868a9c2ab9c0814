public import Foundation

/// The jobs that carry out a tenant's lifecycle. The API enqueues them in the transaction that
/// records the caller's intent; workers run them (`Provisioning`). Every payload is
/// `{"tenant": "<tenant id>"}`, and every job of one tenant shares the concurrency key
/// ``concurrencyKey(tenant:)``, so two of them never run at once.
///
/// A tenant job that ends `dead` or `cancelled` leaves its tenant `failed` with the job's error
/// (a trigger of migration 0008), when it is the tenant's `last_job`.
public enum TenantJobKind: String, Sendable, CaseIterable {
    /// Creates the tenant's role and database (shared placement), renders and commits its stack,
    /// then marks the tenant `active`. Also what a retry of a `failed` tenant runs.
    case provision = "tenant.provision"
    /// Applies a change (size, custom domains, Odoo version): database settings, then a new
    /// revision of the stack.
    case update = "tenant.update"
    /// Removes the tenant's routes and refuses connections to its database; ends `suspended`.
    case suspend = "tenant.suspend"
    /// Brings back routes and connections; ends `active`.
    case resume = "tenant.resume"
    /// Removes the tenant's routes at once, then schedules ``purge`` after the grace period.
    case delete = "tenant.delete"
    /// Drops the tenant's database and role; ends `deleted`.
    case purge = "tenant.purge"

    /// The payload key naming the tenant's id.
    public static let payloadKey = "tenant"

    /// The concurrency key every job of the tenant carries.
    public static func concurrencyKey(tenant: UUID) -> String {
        "tenant:\(tenant.uuidString.lowercased())"
    }
}
