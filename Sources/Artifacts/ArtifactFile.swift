import JWT

/// One rendered file of a stack's artifact set: a relative path (`/`-separated, no `..`, no
/// leading `/`), its bytes, and their SHA-256 (lower-case hex).
public struct ArtifactFile: Sendable, Hashable {
    public let path: String
    public let contents: [UInt8]
    public let sha256: String

    public var size: Int { contents.count }

    public init(path: String, contents: [UInt8]) throws(ArtifactError) {
        guard Self.isSafePath(path) else {
            throw .unsafePath(path)
        }
        self.path = path
        self.contents = contents
        self.sha256 = Digest.sha256Hex(contents)
    }

    /// Relative, normalized, printable: what may be written under a stack's directory.
    public static func isSafePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 255, !path.hasPrefix("/"), !path.hasSuffix("/") else {
            return false
        }
        let allowed = path.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "/": true
            default: false
            }
        }
        return allowed
            && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
                !part.isEmpty && part != "." && part != ".."
            }
    }
}

/// What an artifact set refuses.
public enum ArtifactError: Error, Sendable, Equatable {
    case unsafePath(String)
    case duplicatePath(String)
}
