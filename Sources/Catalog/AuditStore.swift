public import Foundation
import JWT
public import Postgres

/// Filters and page of an audit event list, newest first.
public struct AuditQuery: Sendable {
    /// Only events of this organization (slug, across its whole history).
    public var organization: String?
    /// Confines the list to the organization an org-bound caller belongs to: its
    /// events are matched by the organization's current id, so a slug reused
    /// after a deletion does not reveal the earlier organization's events.
    public var confinedTo: String?
    /// The actor's `sub`.
    public var actor: String?
    public var action: String?
    public var targetType: String?
    public var targetID: String?
    /// Only events that occurred at or after this time.
    public var since: Date?
    /// Continue after (below) this serial.
    public var before: Int64?
    public var limit: Int

    public init(
        organization: String? = nil, confinedTo: String? = nil, actor: String? = nil, action: String? = nil,
        targetType: String? = nil, targetID: String? = nil, since: Date? = nil, before: Int64? = nil, limit: Int = 50
    ) {
        self.organization = organization
        self.confinedTo = confinedTo
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.since = since
        self.before = before
        self.limit = limit
    }
}

/// What `AuditStore.verify` found.
public struct AuditVerification: Sendable, Equatable {
    /// The first chain position that does not check out.
    public struct BrokenLink: Sendable, Equatable {
        public enum Reason: String, Sendable {
            /// The event's stored hash differs from the one recomputed from its content.
            case hashMismatch = "hash_mismatch"
            /// No event holds this position although later ones (or the chain head) exist.
            case missing
            /// The head in `audit_chain` does not match the last sealed event.
            case headMismatch = "head_mismatch"
        }

        public var position: Int64
        /// The id of the event at that position, when there is one.
        public var eventID: String?
        public var reason: Reason

        public init(position: Int64, eventID: String?, reason: Reason) {
            self.position = position
            self.eventID = eventID
            self.reason = reason
        }
    }

    /// Sealed events that checked out before the first broken link (all of them when intact).
    public var verifiedEvents: Int64
    /// Events not sealed yet (outside the chain until the sealer reaches them).
    public var unsealedEvents: Int64
    /// The chain head's hash (hex), as recorded by the sealer.
    public var headHash: String
    public var firstBroken: BrokenLink?

    public var isIntact: Bool { firstBroken == nil }
}

/// The append-only audit trail: recording, listing, sealing into the hash
/// chain, and verifying the chain.
public struct AuditStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    // MARK: - Recording

    static let insert = """
        INSERT INTO audit_events (actor_issuer, actor_subject, actor_organization, organization, organization_id,
            action, target_type, target_id, request_id, outcome, summary)
        VALUES ($1, $2, $3, $4, (SELECT id FROM organizations WHERE slug = $4), $5, $6, $7, $8, $9, $10::jsonb)
        """

    static func parameters(_ record: AuditRecord) -> [(any PostgresBindable)?] {
        [
            record.context.actor?.issuer, record.context.actor?.subject, record.context.actor?.organization,
            record.organization, record.action, record.targetType, record.targetID, record.context.requestID,
            record.outcome.rawValue, String(decoding: JSONCoding.encode(record.summary), as: UTF8.self),
        ]
    }

    /// Appends `record` inside the caller's transaction: it commits or rolls back
    /// with the change it records. No lock is taken beyond the row itself.
    public static func append(_ record: AuditRecord, on connection: PostgresConnection) throws {
        _ = try connection.execute(insert, parameters(record))
    }

    /// Appends `record` on its own (a refusal, which changes nothing else).
    public func record(_ record: AuditRecord) async throws {
        try await pool.query(Self.insert, Self.parameters(record))
    }

    // MARK: - Listing

    public func list(_ query: AuditQuery) async throws -> Page<AuditEvent> {
        let rows = try await pool.query(
            """
            SELECT e.serial, e.id::text AS id, e.sequence, encode(e.hash, 'hex') AS hash_hex, e.occurred_at,
                e.actor_issuer, e.actor_subject, e.actor_organization, e.organization, e.action, e.target_type,
                e.target_id, e.request_id, e.outcome, e.summary::text AS summary_text
            FROM audit_events e
            WHERE ($1::text IS NULL OR e.organization = $1)
              AND ($2::text IS NULL OR e.organization_id = (SELECT id FROM organizations WHERE slug = $2))
              AND ($3::text IS NULL OR e.actor_subject = $3)
              AND ($4::text IS NULL OR e.action = $4)
              AND ($5::text IS NULL OR e.target_type = $5)
              AND ($6::text IS NULL OR e.target_id = $6)
              AND ($7::timestamptz IS NULL OR e.occurred_at >= $7)
              AND ($8::bigint IS NULL OR e.serial < $8)
            ORDER BY e.serial DESC
            LIMIT $9
            """,
            [
                query.organization, query.confinedTo, query.actor, query.action, query.targetType, query.targetID,
                query.since, query.before, query.limit + 1,
            ]
        )
        return Page.from(try rows.map(Self.decode), limit: query.limit) { String($0.serial) }
    }

    static func decode(_ row: PostgresRow) throws -> AuditEvent {
        let issuer = try row.decodeIfPresent(String.self, "actor_issuer")
        let subject = try row.decodeIfPresent(String.self, "actor_subject")
        let actor = subject.map {
            AuditActor(
                issuer: issuer ?? "", subject: $0,
                organization: (try? row.decodeIfPresent(String.self, "actor_organization")) ?? nil
            )
        }
        let outcomeText = try row.decode(String.self, "outcome")
        let summaryText = try row.decode(String.self, "summary_text")
        return AuditEvent(
            id: try row.decode(String.self, "id"),
            serial: try row.decode(Int64.self, "serial"),
            sequence: try row.decodeIfPresent(Int64.self, "sequence"),
            hash: try row.decodeIfPresent(String.self, "hash_hex"),
            occurredAt: try row.decode(Date.self, "occurred_at"),
            actor: actor,
            organization: try row.decodeIfPresent(String.self, "organization"),
            action: try row.decode(String.self, "action"),
            targetType: try row.decode(String.self, "target_type"),
            targetID: try row.decodeIfPresent(String.self, "target_id"),
            requestID: try row.decodeIfPresent(String.self, "request_id"),
            outcome: AuditOutcome(rawValue: outcomeText) ?? .denied,
            summary: (try? JSONCoding.decode(summaryText.utf8)) ?? .string(summaryText)
        )
    }

    // MARK: - Sealing

    /// Gives the committed, unsealed events (at most `limit`, in insertion order)
    /// the next chain positions and hashes; returns how many it sealed.
    ///
    /// Sealers of several processes take turns on the row lock of the chain head
    /// (`audit_chain`), a lock no request ever takes: audit writes never wait on
    /// the chain. The head row, not a database-wide advisory lock, is the lock,
    /// so catalogs in separate schemas of one database do not contend. With
    /// `wait: false` a sealer finding another at work returns 0 at once.
    ///
    /// Positions follow commit order across batches: an event whose transaction
    /// commits after a batch was taken is sealed by a later batch, after it. (Its
    /// `occurred_at`, the start of its transaction, may then be older than its
    /// predecessor's.)
    @discardableResult
    public func seal(limit: Int = 500, wait: Bool = false) async throws -> Int {
        try await pool.transaction { connection in
            let lock = wait ? "FOR UPDATE" : "FOR UPDATE SKIP LOCKED"
            let head = try connection.query(
                "SELECT last_sequence, encode(last_hash, 'hex') AS last_hash FROM audit_chain WHERE id = 1 \(lock)"
            )
            guard let headRow = head.first else {
                let exists = try connection.query("SELECT 1 AS found FROM audit_chain WHERE id = 1")
                guard exists.isEmpty else { return 0 }
                throw CatalogError.notFound
            }
            var sequence = try headRow.decode(Int64.self, "last_sequence")
            guard var previous = Hex.decode(try headRow.decode(String.self, "last_hash")) else {
                throw AuditChain.HashUnavailable()
            }
            let rows = try connection.query(
                "SELECT \(AuditChain.columns) FROM audit_events e WHERE e.sequence IS NULL ORDER BY e.serial LIMIT $1",
                [limit]
            )
            guard !rows.isEmpty else { return 0 }
            var ids: [String] = []
            var sequences: [String] = []
            var hashes: [String] = []
            for row in rows {
                sequence += 1
                previous = try AuditChain.hash(previous: previous, row, sequence: sequence)
                ids.append(try row.decode(String.self, "id"))
                sequences.append(String(sequence))
                hashes.append(Hex.encode(previous))
            }
            _ = try connection.execute(
                """
                UPDATE audit_events e
                SET sequence = v.sequence, hash = decode(v.hash, 'hex'), sealed_at = now()
                FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS v (id, sequence, hash)
                WHERE e.id = v.id
                """,
                [CatalogSQL.textArray(ids), CatalogSQL.textArray(sequences), CatalogSQL.textArray(hashes)]
            )
            _ = try connection.execute(
                "UPDATE audit_chain SET last_sequence = $1, last_hash = decode($2, 'hex'), updated_at = now() WHERE id = 1",
                [sequence, Hex.encode(previous)]
            )
            return rows.count
        }
    }

    /// Seals until no committed event is left unsealed; returns how many it sealed.
    @discardableResult
    public func sealAll(batch: Int = 500) async throws -> Int {
        var total = 0
        while true {
            let sealed = try await seal(limit: batch, wait: true)
            total += sealed
            if sealed < batch { return total }
        }
    }

    // MARK: - Verification

    /// Recomputes the chain over every sealed event, in one snapshot, and
    /// reports the first position that does not check out: a stored hash that
    /// differs from the recomputed one (an edited event), a missing position (a
    /// deleted event), or a head that does not match the last event (the newest
    /// events deleted, or events sealed by something else than the sealer).
    ///
    /// An intruder able to rewrite every later hash and the head can make an
    /// edit consistent again; record the reported head hash elsewhere to anchor it.
    public func verify(batch: Int = 1000) async throws -> AuditVerification {
        try await pool.transaction(isolation: .repeatableRead) { connection in
            let head = try CatalogSQL.single(
                connection.query(
                    "SELECT last_sequence, encode(last_hash, 'hex') AS last_hash FROM audit_chain WHERE id = 1"
                )
            )
            let headSequence = try head.decode(Int64.self, "last_sequence")
            let headHash = try head.decode(String.self, "last_hash")
            let unsealed = try CatalogSQL.single(
                connection.query("SELECT count(*) AS unsealed FROM audit_events WHERE sequence IS NULL")
            ).decode(Int64.self, "unsealed")
            var result = AuditVerification(
                verifiedEvents: 0, unsealedEvents: unsealed, headHash: headHash, firstBroken: nil
            )
            typealias Reason = AuditVerification.BrokenLink.Reason
            func broken(_ position: Int64, _ id: String?, _ reason: Reason) -> AuditVerification {
                var failed = result
                failed.firstBroken = .init(position: position, eventID: id, reason: reason)
                return failed
            }

            var previous = AuditChain.genesis
            var last: Int64 = 0
            while true {
                let rows = try connection.query(
                    """
                    SELECT \(AuditChain.columns) FROM audit_events e
                    WHERE e.sequence IS NOT NULL AND e.sequence > $1 ORDER BY e.sequence LIMIT $2
                    """,
                    [last, batch]
                )
                for row in rows {
                    let id = try row.decodeIfPresent(String.self, "id")
                    let sequence = try row.decode(Int64.self, "sequence")
                    guard sequence == last + 1 else { return broken(last + 1, nil, .missing) }
                    let hash = try AuditChain.hash(previous: previous, row, sequence: sequence)
                    guard try row.decodeIfPresent(String.self, "hash_hex") == Hex.encode(hash) else {
                        return broken(sequence, id, .hashMismatch)
                    }
                    previous = hash
                    last = sequence
                    result.verifiedEvents += 1
                }
                if rows.count < batch { break }
            }
            if last < headSequence { return broken(last + 1, nil, .missing) }
            if last > headSequence { return broken(headSequence + 1, nil, .headMismatch) }
            if Hex.encode(previous) != headHash { return broken(last, nil, .headMismatch) }
            return result
        }
    }
}
