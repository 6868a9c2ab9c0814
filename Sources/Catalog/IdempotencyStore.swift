import Foundation
public import Postgres

/// A response kept for replays of a POST with the same `Idempotency-Key`.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    /// Headers worth replaying (`Location`, `ETag`, `Content-Type`), in order.
    public var headers: [[String]]
    public var body: [UInt8]

    public init(status: Int, headers: [[String]], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What a request finds when it presents an `Idempotency-Key`.
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is this request's now: process it, then `complete` or `release`.
    case acquired
    /// The first request with this key finished: answer with its response.
    case replay(StoredResponse)
    /// The first request with this key is still being processed.
    case inFlight
    /// The key was first used for a different request.
    case mismatch
}

/// Idempotency records in the catalog, so every API replica sees the same keys.
public struct IdempotencyStore: Sendable {
    let pool: PostgresPool
    /// How long keys are kept after first use.
    public var retention: Duration
    /// How long an in-flight claim holds before another request may take over
    /// (a process that died mid-request leaves its claim behind).
    public var lease: Duration

    public init(pool: PostgresPool, retention: Duration = .seconds(86_400), lease: Duration = .seconds(60)) {
        self.pool = pool
        self.retention = retention
        self.lease = lease
    }

    public func claim(principal: String, key: String, requestHash: String) async throws -> IdempotencyClaim {
        let leaseMilliseconds = Self.milliseconds(lease)
        let retentionMilliseconds = Self.milliseconds(retention)
        return try await pool.withConnection { connection in
            let acquired = try connection.query(
                """
                INSERT INTO idempotency_keys (principal, key, request_hash, state, locked_until, expires_at)
                VALUES ($1, $2, $3, 'in_flight', now() + $4::bigint * interval '1 millisecond',
                        now() + $5::bigint * interval '1 millisecond')
                ON CONFLICT (principal, key) DO UPDATE
                SET request_hash = excluded.request_hash, state = 'in_flight', locked_until = excluded.locked_until,
                    expires_at = excluded.expires_at, response_status = NULL, response_headers = NULL,
                    response_body = NULL, created_at = now()
                WHERE idempotency_keys.expires_at < now()
                   OR (idempotency_keys.state = 'in_flight' AND idempotency_keys.locked_until < now()
                       AND idempotency_keys.request_hash = excluded.request_hash)
                RETURNING 1 AS acquired
                """,
                [principal, key, requestHash, leaseMilliseconds, retentionMilliseconds]
            )
            if !acquired.isEmpty { return .acquired }
            let rows = try connection.query(
                """
                SELECT request_hash, state, response_status, response_headers::text AS response_headers, response_body
                FROM idempotency_keys WHERE principal = $1 AND key = $2
                """,
                [principal, key]
            )
            guard let row = rows.first else { return .inFlight }
            guard try row.decode(String.self, "request_hash") == requestHash else { return .mismatch }
            guard try row.decode(String.self, "state") == "completed" else { return .inFlight }
            let headersJSON = try row.decode(String.self, "response_headers")
            let headers = (try? JSONSerialization.jsonObject(with: Data(headersJSON.utf8))) as? [[String]] ?? []
            return .replay(
                StoredResponse(
                    status: try row.decode(Int.self, "response_status"),
                    headers: headers,
                    body: try row.decode([UInt8].self, "response_body")
                )
            )
        }
    }

    public func complete(principal: String, key: String, response: StoredResponse) async throws {
        let headers = try JSONSerialization.data(withJSONObject: response.headers)
        _ = try await pool.query(
            """
            UPDATE idempotency_keys
            SET state = 'completed', response_status = $3, response_headers = $4::jsonb, response_body = $5
            WHERE principal = $1 AND key = $2 AND state = 'in_flight'
            """,
            [principal, key, response.status, String(decoding: headers, as: UTF8.self), response.body]
        )
    }

    /// Gives the key up after a failure that should not be replayed (a server error).
    public func release(principal: String, key: String) async throws {
        _ = try await pool.query(
            "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND state = 'in_flight'",
            [principal, key]
        )
    }

    /// Deletes records past their retention; returns how many.
    public func prune() async throws -> Int {
        try await pool.withConnection { connection in
            try connection.execute("DELETE FROM idempotency_keys WHERE expires_at < now()")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
