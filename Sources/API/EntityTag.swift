public import Catalog
public import Hummingbird

/// Strong entity tags from row versions, and `If-Match` parsing.
enum EntityTag {
    static func make(_ version: Int64) -> String { "\"\(version)\"" }

    /// The precondition an `If-Match` header sets. Only strong tags can match;
    /// anything else in the list (weak or malformed tags) matches no version, so
    /// a header without a current tag is answered 412.
    static func condition(_ request: Request) -> VersionCondition {
        guard let header = request.headers[.ifMatch] else { return .none }
        let trimmed = header.trimmingASCIISpaces()
        if trimmed == "*" { return .any }
        let versions = trimmed.split(separator: ",").compactMap { part -> Int64? in
            let tag = Substring(part).trimmingASCIISpaces()
            guard tag.count >= 2, tag.first == "\"", tag.last == "\"" else { return nil }
            return Int64(tag.dropFirst().dropLast())
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
