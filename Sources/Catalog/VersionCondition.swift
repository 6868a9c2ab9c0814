/// The `If-Match` precondition of a change, in terms of row versions.
public enum VersionCondition: Sendable, Equatable {
    /// No precondition.
    case none
    /// `If-Match: *`: the resource must exist.
    case any
    /// The current version must be one of these.
    case oneOf([Int64])

    func admits(_ version: Int64) -> Bool {
        switch self {
        case .none, .any: true
        case .oneOf(let versions): versions.contains(version)
        }
    }
}
