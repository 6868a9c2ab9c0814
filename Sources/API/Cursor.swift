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
        var errors: [FieldError] = []
        var page = PageRequest()
        let query = request.uri.queryParameters
        if let limit = query["limit"] {
            if let value = Int(limit), (1...200).contains(value) {
                page.limit = value
            } else {
                errors.append(FieldError(field: "limit", message: "must be an integer from 1 to 200"))
            }
        }
        if let cursor = query["cursor"] {
            if let after = decode(String(cursor)) {
                page.after = after
            } else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor this API gave"))
            }
        }
        guard errors.isEmpty else { throw ProblemError.validation(errors) }
        return page
    }
}
