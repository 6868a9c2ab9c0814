import Catalog
import Foundation
import JWT

/// Cursors of the tenant list, ordered by slug then id (deleted tenants may share a slug).
extension Cursor {
    static func encode(tenant position: String) -> String { Base64URL.encode(Array("t1:\(position)".utf8)) }

    /// The `<slug>/<id>` position of a cursor this API gave.
    static func decodeTenantPosition(_ cursor: String) -> String? {
        guard let bytes = try? Base64URL.decode(cursor), let text = String(bytes: bytes, encoding: .utf8),
            text.hasPrefix("t1:")
        else { return nil }
        let parts = text.dropFirst(3).split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, NamePattern.isSlug(parts[0]), UUID(uuidString: parts[1]) != nil else { return nil }
        return "\(parts[0])/\(parts[1])"
    }
}
