import JWT

/// A stack's complete artifact set: its files sorted by path, and a digest over the manifest
/// (one `sha256 size path` line per file), so equal sets have equal digests whatever their order.
public struct ArtifactRevision: Sendable, Hashable {
    public let files: [ArtifactFile]
    public let digest: String

    public init(files: [ArtifactFile]) throws(ArtifactError) {
        let sorted = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.path == next.path {
            throw .duplicatePath(next.path)
        }
        self.files = sorted
        self.digest = Digest.sha256Hex(Self.manifest(of: sorted).utf8)
    }

    /// The manifest the digest covers: `<sha256> <size> <path>\n` per file, in path order.
    public var manifest: String { Self.manifest(of: files) }

    static func manifest(of files: [ArtifactFile]) -> String {
        files.map { "\($0.sha256) \($0.size) \($0.path)\n" }.joined()
    }

    /// The file at `path`, if the revision has one.
    public func file(at path: String) -> ArtifactFile? {
        files.first { $0.path == path }
    }
}
