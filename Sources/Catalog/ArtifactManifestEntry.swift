/// One file of a recorded revision's manifest.
public struct ArtifactManifestEntry: Sendable, Equatable, Hashable {
    public var path: String
    public var sha256: String
    public var size: Int

    public init(path: String, sha256: String, size: Int) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }
}
