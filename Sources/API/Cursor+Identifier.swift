import Catalog
import Foundation
import Hummingbird
import JWT

/// Cursors of lists ordered by UUID (partner tokens).
extension Cursor {
    static func encode(id: UUID) -> String { Base64URL.encode(Array("i1:\(id.uuidString.lowercased())".utf8)) }

    static func decodeID(_ cursor: String) -> UUID? {
        guard let bytes = try? Base64URL.decode(cursor), let text = String(bytes: bytes, encoding: .utf8),
            text.hasPrefix("i1:")
        else { return nil }
        return UUID(uuidString: String(text.dropFirst(3)))
    }

    /// Reads `limit` (1...200, default 50) and an id `cursor`; bad values are 422.
    static func identifierPageRequest(_ request: Request) throws -> (after: UUID?, limit: Int) {
        var errors: [FieldError] = []
        var limit = 50
        var after: UUID?
        let query = request.uri.queryParameters
        if let text = query["limit"] {
            if let value = Int(text), (1...200).contains(value) {
                limit = value
            } else {
                errors.append(FieldError(field: "limit", message: "must be an integer from 1 to 200"))
            }
        }
        if let cursor = query["cursor"] {
            if let id = decodeID(String(cursor)) {
                after = id
            } else {
                errors.append(FieldError(field: "cursor", message: "is not a cursor this API gave"))
            }
        }
        guard errors.isEmpty else { throw ProblemError.validation(errors) }
        return (after, limit)
    }
}
