import Catalog
import JWT

extension AuditEvent {
    /// The wire form of an audit event.
    var json: JSONValue {
        .object([
            "id": .string(id),
            "sequence": sequence.map { .number(Double($0)) } ?? .null,
            "hash": hash.map(JSONValue.string) ?? .null,
            "occurred_at": .string(Timestamp.format(occurredAt)),
            "actor": actor.map { actor in
                .object([
                    "issuer": .string(actor.issuer),
                    "subject": .string(actor.subject),
                    "organization": actor.organization.map(JSONValue.string) ?? .null,
                ])
            } ?? .null,
            "organization": organization.map(JSONValue.string) ?? .null,
            "action": .string(action),
            "target": .object(["type": .string(targetType), "id": targetID.map(JSONValue.string) ?? .null]),
            "request_id": requestID.map(JSONValue.string) ?? .null,
            "outcome": .string(outcome.rawValue),
            "summary": summary,
        ])
    }
}
