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
        var reader = QueryParameterReader(request)
        let limit = reader.limit() ?? 50
        let after = reader.cursor(decodeID)
        try reader.finish()
        return (after, limit)
    }
}
