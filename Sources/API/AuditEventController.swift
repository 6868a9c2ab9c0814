import Catalog
import Foundation
import Hummingbird
import JWT

/// `GET /v1/audit-events`: the audit trail, newest first.
///
/// Provider staff holding `audit:read` see every event and may filter by
/// organization; an organization's principals (its auditors and admins) see
/// only the events of their organization, whoever the actor was.
struct AuditEventController {
    let store: AuditStore

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.get, "/v1/audit-events", access: .permission(.auditRead)) { request, context in
            let principal = try context.requirePrincipal()
            var query = try Self.query(request)
            if let own = principal.organization {
                // Another organization's filter matches nothing rather than answering 404 or 403:
                // neither would say more than an empty page.
                if let asked = query.organization, asked != own { return .page([], nextAfter: nil) }
                query.organization = nil
                query.confinedTo = own
            }
            let page = try await store.list(query)
            return APIResponse(
                json: .object([
                    "items": .array(page.items.map(\.json)),
                    "next_cursor": page.nextAfter.flatMap(Int64.init).map { .string(Self.encodeCursor($0)) } ?? .null,
                ])
            )
        }
    }

    /// Reads the filters and the page; every bad value is a 422 field error.
    static func query(_ request: Request) throws -> AuditQuery {
        var reader = QueryParameterReader(request)
        var query = AuditQuery()
        if let limit = reader.limit() {
            query.limit = limit
        }
        query.before = reader.cursor(decodeCursor)
        query.organization = reader.read("org", RegionController.slugRule) { NamePattern.isSlug($0) ? $0 : nil }
        query.actor = reader.read("actor", "must be a subject of 1 to 255 characters without control characters") {
            isFilterText($0) ? $0 : nil
        }
        query.action = reader.read("action", "must be an action such as brand.update") {
            isToken($0, allowingDots: true) ? $0 : nil
        }
        if let target = reader.read("target", "must be TYPE or TYPE:ID, such as brand:acme-outlet", parseTarget) {
            query.targetType = target.type
            query.targetID = target.id
        }
        query.since = reader.read("since", "must be an RFC 3339 timestamp", parseTimestamp)
        try reader.finish()
        return query
    }

    /// `TYPE` or `TYPE:ID`.
    static func parseTarget(_ text: String) -> (type: String, id: String?)? {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard isToken(parts[0], allowingDots: false), parts.count == 1 || isFilterText(parts[1]) else { return nil }
        return (parts[0], parts.count == 2 ? parts[1] : nil)
    }

    /// 1 to 100 bytes of `[a-z0-9-]` (and `.` in actions).
    static func isToken(_ text: String, allowingDots: Bool) -> Bool {
        (1...100).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || (allowingDots && byte == UInt8(ascii: "."))
            }
    }

    /// 1 to 255 characters (code points, as JSON Schema counts), none of them a control character.
    static func isFilterText(_ text: String) -> Bool {
        (1...255).contains(text.unicodeScalars.count)
            && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) }
    }

    /// An RFC 3339 date-time (`Z` or a numeric offset, optional fraction).
    static func parseTimestamp(_ text: String) -> Date? {
        guard text.utf8.count <= 40 else { return nil }
        // RFC 3339 allows lowercase `t` and `z`; the formatter wants them uppercase.
        let text = text.uppercased()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Audit cursors carry the serial to continue below, distinct from slug cursors.
    static func encodeCursor(_ serial: Int64) -> String { Base64URL.encode(Array("a1:\(serial)".utf8)) }

    static func decodeCursor(_ cursor: String) -> Int64? {
        guard let bytes = try? Base64URL.decode(cursor), let text = String(bytes: bytes, encoding: .utf8),
            text.hasPrefix("a1:"), let serial = Int64(text.dropFirst(3)), serial > 0
        else { return nil }
        return serial
    }
}
