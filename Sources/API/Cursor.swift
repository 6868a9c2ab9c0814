public import Catalog
import Foundation
public import Hummingbird
public import JWT

/// Opaque list cursors and the `limit` / `cursor` query parameters.
enum Cursor {
    static func encode(_ slug: String) -> String { Base64URL.encode(Array("s1:\(slug)".utf8)) }

    static func decode(_ cursor: String) -> String? {
        guard let bytes = try? Base64URL.decode(cursor),
            let text = String(bytes: bytes, encoding: .utf8), text.hasPrefix("s1:")
        else { return nil }
        let slug = String(text.dropFirst(3))
        return NamePattern.isSlug(slug) ? slug : nil
    }

    /// Reads `limit` (1...200, default 50) and `cursor`; bad values are 422.
    static func pageRequest(_ request: Request) throws -> PageRequest {
        var reader = QueryParameterReader(request)
        var page = PageRequest()
        if let limit = reader.limit() {
            page.limit = limit
        }
        page.after = reader.cursor(decode)
        try reader.finish()
        return page
    }
}
