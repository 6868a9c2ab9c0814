import Foundation
import JWT
import Jobs

/// Cursors of job lists (newest first): the creation time in microseconds and the id of the last
/// job of the page.
extension Cursor {
    static func encode(job position: JobListPosition) -> String {
        Base64URL.encode(Array("j1:\(position.createdAtMicroseconds):\(position.id.uuidString.lowercased())".utf8))
    }

    static func decodeJobPosition(_ cursor: String) -> JobListPosition? {
        guard let bytes = try? Base64URL.decode(cursor), let text = String(bytes: bytes, encoding: .utf8),
            text.hasPrefix("j1:")
        else { return nil }
        let parts = text.dropFirst(3).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let micros = Int64(parts[0]), micros >= 0, let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        return JobListPosition(createdAtMicroseconds: micros, id: id)
    }
}
