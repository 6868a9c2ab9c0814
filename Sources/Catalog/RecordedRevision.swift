public import Foundation

/// An artifact revision as the catalog keeps it: its number in the stack's history, its digest and
/// its manifest (files in path order); the bytes live in `artifact_blobs`.
public struct RecordedRevision: Sendable, Equatable {
    public var stackID: UUID
    public var number: Int
    public var digest: String
    public var manifest: [ArtifactManifestEntry]
    public var jobID: UUID?
    public var actor: String
    public var gitCommit: String?
    public var createdAt: Date

    public init(
        stackID: UUID, number: Int, digest: String, manifest: [ArtifactManifestEntry], jobID: UUID?, actor: String,
        gitCommit: String?, createdAt: Date
    ) {
        self.stackID = stackID
        self.number = number
        self.digest = digest
        self.manifest = manifest
        self.jobID = jobID
        self.actor = actor
        self.gitCommit = gitCommit
        self.createdAt = createdAt
    }

    /// The manifest entry at `path`, if the revision has that file.
    public func entry(at path: String) -> ArtifactManifestEntry? {
        manifest.first { $0.path == path }
    }
}
