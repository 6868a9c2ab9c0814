import Foundation

extension GitOpsRepository {
    /// Fetches the remote's `main` and answers its commit (`nil` when the remote has none yet, or
    /// when no remote is configured).
    public func fetchRemoteHead() throws(GitOpsError) -> String? {
        guard let remote else { return nil }
        try prepare()
        return try fetch(remote)
    }

    /// Fetches the remote's `main` into ``remoteTrackingRef``; `nil` when the remote has no `main` yet.
    func fetch(_ remote: String) throws(GitOpsError) -> String? {
        let output = try git.run(["fetch", "--quiet", "--no-tags", remote, "+\(Self.branch):\(Self.remoteTrackingRef)"])
        if output.status == 0 { return try resolve(Self.remoteTrackingRef) }
        if output.errorText.contains("couldn't find remote ref") {
            _ = try git.run(["update-ref", "-d", Self.remoteTrackingRef])
            return nil
        }
        throw .commandFailed(command: "fetch", status: output.status, message: Self.redacting(remote, in: output.errorText))
    }

    /// Pushes `commit` as the remote's `main` (never forced); `false` when the remote moved
    /// meanwhile (rejected as not a fast-forward, or its ref lock was taken).
    func push(_ commit: String, to remote: String) throws(GitOpsError) -> Bool {
        let output = try git.run(["push", "--porcelain", "--quiet", remote, "\(commit):\(Self.branch)"])
        if output.status == 0 { return true }
        let text = String(decoding: output.stdout + output.stderr, as: UTF8.self)
        let raceSigns = ["[rejected]", "non-fast-forward", "fetch first", "failed to lock", "cannot lock ref", "incorrect old value"]
        if raceSigns.contains(where: text.contains) { return false }
        throw .pushRejected(message: Self.redacting(remote, in: output.errorText))
    }

    /// `text` without the remote's URL (it may carry credentials).
    static func redacting(_ remote: String, in text: String) -> String {
        text.replacingOccurrences(of: remote, with: "<remote>")
    }
}
