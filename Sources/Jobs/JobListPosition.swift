public import Foundation

/// A place in an organization's job list (newest first): `created_at` in microseconds since the
/// Unix epoch, then the id, both descending.
public struct JobListPosition: Sendable, Equatable, Hashable {
    public var createdAtMicroseconds: Int64
    public var id: UUID

    public init(createdAtMicroseconds: Int64, id: UUID) {
        self.createdAtMicroseconds = createdAtMicroseconds
        self.id = id
    }
}
