public import Catalog
public import Hummingbird

/// Strong entity tags from row versions, and `If-Match` parsing.
enum EntityTag {
    static func make(_ version: Int64) -> String { "\"\(version)\"" }

    /// The precondition an `If-Match` header sets; a malformed header is 400.
    static func condition(_ request: Request) throws -> VersionCondition {
        guard let header = request.headers[.ifMatch] else { return .none }
        let trimmed = header.trimmingASCIISpaces()
        if trimmed == "*" { return .any }
        var versions: [Int64] = []
        for part in trimmed.split(separator: ",") {
            let tag = Substring(part).trimmingASCIISpaces()
            // Weak tags never match under If-Match (strong comparison).
            if tag.hasPrefix("W/") { continue }
            guard tag.count >= 2, tag.first == "\"", tag.last == "\"" else {
                throw ProblemError.badRequest("If-Match must be * or a list of quoted entity tags")
            }
            if let version = Int64(tag.dropFirst().dropLast()) { versions.append(version) }
        }
        return .oneOf(versions)
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> Substring {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
