/// The outcome of committing a revision: the commit that holds it, and whether this call made it.
public struct GitOpsCommit: Sendable, Equatable {
    /// The commit whose tree holds the revision in the stack's directory: the new commit, or, for
    /// an unchanged revision, the existing commit that last changed the directory.
    public var sha: String
    /// `false` when the branch already held exactly this revision and no commit was made.
    public var created: Bool

    public init(sha: String, created: Bool) {
        self.sha = sha
        self.created = created
    }
}
