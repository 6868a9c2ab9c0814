import JWT
import Postgres

/// The hash chain over sealed audit events.
///
/// `hash(n) = SHA-256(hash(n-1) || canonical(event n))`, with 32 zero bytes
/// before the first event. The canonical bytes are the deterministic JSON
/// encoding (`JSONCoding`: members sorted, no whitespace) of every stored
/// column of the event plus its position, built from PostgreSQL's text output
/// of each column so that sealing and verifying read the same bytes:
/// `occurred_at` in microseconds UTC, the summary re-encoded canonically (jsonb
/// may print members in another order than they were written).
enum AuditChain {
    static let genesis = [UInt8](repeating: 0, count: 32)

    /// The columns an entry is built from (`e` is `audit_events`).
    static let columns = """
        e.id::text AS id, e.sequence,
        to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at_text,
        e.actor_issuer, e.actor_subject, e.actor_organization, e.organization, e.organization_id::text AS organization_id,
        e.action, e.target_type, e.target_id, e.request_id, e.outcome, e.summary::text AS summary_text,
        encode(e.hash, 'hex') AS hash_hex
        """

    struct HashUnavailable: Error {}

    /// The canonical bytes of the event in `row` at chain position `sequence`.
    static func canonicalBytes(_ row: PostgresRow, sequence: Int64) throws -> [UInt8] {
        func text(_ column: String) throws -> JSONValue {
            try row.decodeIfPresent(String.self, column).map(JSONValue.string) ?? .null
        }
        let summaryText = try row.decode(String.self, "summary_text")
        // jsonb text is always valid JSON; a summary too deep for the strict
        // decoder is still hashed, as its text.
        let summary = (try? JSONCoding.decode(summaryText.utf8)) ?? .string(summaryText)
        let object: JSONValue = .object([
            "v": 1,
            "sequence": .string(String(sequence)),
            "id": try text("id"),
            "occurred_at": try text("occurred_at_text"),
            "actor_issuer": try text("actor_issuer"),
            "actor_subject": try text("actor_subject"),
            "actor_organization": try text("actor_organization"),
            "organization": try text("organization"),
            "organization_id": try text("organization_id"),
            "action": try text("action"),
            "target_type": try text("target_type"),
            "target_id": try text("target_id"),
            "request_id": try text("request_id"),
            "outcome": try text("outcome"),
            "summary": summary,
        ])
        return JSONCoding.encode(object)
    }

    /// The hash of the event in `row` at `sequence`, chained to `previous`.
    static func hash(previous: [UInt8], _ row: PostgresRow, sequence: Int64) throws -> [UInt8] {
        let digest = Digest.sha256(previous + (try canonicalBytes(row, sequence: sequence)))
        guard digest.count == 32 else { throw HashUnavailable() }
        return digest
    }
}
