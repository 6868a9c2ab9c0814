public import JWT

/// The `summary` of an audit event for a change: the fields that differ
/// between the resource before and after, by wire name.
///
/// `{"changes": {"name": {"from": "Old", "to": "New"}}}`; a creation has only
/// `to` values, a deletion only `from` values. Secret fields appear as
/// ``redacted`` (or `null` when unset), never with their value.
public enum AuditSummary {
    /// Stands for a secret that is set.
    public static let redacted: JSONValue = "[redacted]"

    /// `alsoChanged` names fields whose shown values may be equal although the
    /// stored value changed (a secret replaced by another).
    public static func changes(
        from before: [String: JSONValue]?, to after: [String: JSONValue]?, alsoChanged: Set<String> = []
    ) -> JSONValue {
        var changes: [String: JSONValue] = [:]
        let fields = Set((before ?? [:]).keys).union((after ?? [:]).keys)
        for field in fields {
            let old = before?[field]
            let new = after?[field]
            guard old != new || alsoChanged.contains(field) else { continue }
            var change: [String: JSONValue] = [:]
            if let before { change["from"] = before[field] ?? .null }
            if let after { change["to"] = after[field] ?? .null }
            changes[field] = .object(change)
        }
        return .object(["changes": .object(changes)])
    }
}
