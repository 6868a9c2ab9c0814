public import Artifacts
public import Foundation

/// Commits stacks' artifact revisions into a git repository, one directory per region and stack
/// (`regions/<region>/stacks/<stack>/…`) on the branch `main`, and pushes them to a remote when one
/// is configured.
///
/// The repository is bare (created with `git init --bare` when missing): nothing is ever written to
/// a working tree. A revision becomes visible only through one atomic compare-and-swap of
/// `refs/heads/main` (or one push), after its blobs, trees and commit are all written, so a process
/// killed at any point leaves the branch at its previous revision; running the same commit again
/// completes it (see ``commit(_:at:job:actor:)``).
public struct GitOpsRepository: Sendable {
    public static let branch = "refs/heads/main"
    /// The ref fetched remote heads are kept under.
    static let remoteTrackingRef = "refs/gitops/remote-main"
    /// The environment variable of the kill test: when it names a file, the writer creates that
    /// file after writing every object of a revision and before moving any ref, then waits 30 s,
    /// so that a test can kill the process there. Never set it in production.
    public static let pauseBeforeUpdateRefVariable = "PROVISIONER_GITOPS_PAUSE_BEFORE_UPDATE_REF"

    /// The local repository.
    public let path: URL
    /// Where commits are pushed (any URL or path `git push` accepts), or `nil`.
    public let remote: String?
    /// How many times a lost compare-and-swap or push race is retried.
    public let maxAttempts: Int
    let git: GitCommand
    /// Tests only: called before every attempt to publish (push, or move the local branch) with
    /// the attempt number, so a test can move the branch under the writer.
    var beforePublish: (@Sendable (Int) -> Void)?

    public init(path: URL, remote: String? = nil, maxAttempts: Int = 8, gitExecutable: String = "git") {
        self.path = path
        self.remote = remote
        self.maxAttempts = max(1, maxAttempts)
        self.git = GitCommand(directory: path, executable: gitExecutable)
    }

    /// Creates the bare repository (branch `main`) when the directory is missing or empty.
    public func prepare() throws(GitOpsError) {
        let fileManager = FileManager.default
        let contents = (try? fileManager.contentsOfDirectory(atPath: path.path)) ?? []
        if contents.isEmpty {
            do {
                try fileManager.createDirectory(at: path, withIntermediateDirectories: true)
            } catch {
                throw .commandFailed(command: "init", status: -1, message: "cannot create the repository directory")
            }
            try git.check(["init", "--quiet", "--bare", "--initial-branch=main"])
        }
    }

    /// The commit `refs/heads/main` points at, or `nil` before the first revision.
    public func head() throws(GitOpsError) -> String? {
        try resolve(Self.branch)
    }

    /// Commits `revision` as the whole content of the stack's directory.
    ///
    /// 1. Every file is written as a blob (`git hash-object -w --stdin`).
    /// 2. The base is the branch head (the remote's, freshly fetched, when a remote is set).
    /// 3. A temporary index (`GIT_INDEX_FILE`) gets the base's entries outside the stack's
    ///    directory plus the revision's files (`git update-index -z --index-info`), and
    ///    `git write-tree` makes the tree: files removed from the revision are gone.
    /// 4. A tree equal to the base's means the revision is already there: no commit; the answer is
    ///    the commit that last changed the directory.
    /// 5. Otherwise `git commit-tree` makes the commit on the base, and the branch moves with
    ///    `git update-ref refs/heads/main NEW OLD`, a compare-and-swap; with a remote, a push
    ///    that is not a fast-forward is the race instead. A lost race starts again from 2 on the
    ///    new head (only this stack's directory is replaced), at most ``maxAttempts`` times.
    public func commit(
        _ revision: ArtifactRevision, at location: GitOpsLocation, job: String, actor: String
    ) throws(GitOpsError) -> GitOpsCommit {
        try prepare()
        var entries: [UInt8] = []
        for (file, blob) in zip(revision.files, try writeBlobs(revision.files)) {
            entries += Array("100644 blob \(blob)\t\(location.directory)/\(file.path)".utf8) + [0]
        }
        let message = Self.message(revision, location, job: job, actor: actor)
        for attempt in 1...maxAttempts {
            let localHead = try head()
            var remoteHead: String?
            if let remote {
                remoteHead = try fetch(remote)
            }
            let base = remoteHead ?? localHead
            let tree = try tree(base: base, replacing: location, with: entries)
            let target: String
            let result: GitOpsCommit
            if let base, try resolve("\(base)^{tree}") == tree {
                target = base
                result = GitOpsCommit(sha: try lastChange(of: location, at: base) ?? base, created: false)
            } else {
                target = try commitTree(tree, parent: base, message: message)
                result = GitOpsCommit(sha: target, created: true)
            }
            Self.pauseIfAsked()
            if let remote {
                if target != remoteHead {
                    beforePublish?(attempt)
                    guard try push(target, to: remote) else {
                        backOff(attempt)
                        continue
                    }
                }
                // The local branch mirrors the remote; losing this swap to another local writer is harmless.
                _ = try updateRef(to: target, expected: localHead, reason: "job \(Self.clean(job))")
                return result
            }
            if target == localHead { return result }
            beforePublish?(attempt)
            if try updateRef(to: target, expected: localHead, reason: "job \(Self.clean(job))") { return result }
            backOff(attempt)
        }
        throw .tooManyRaces(attempts: maxAttempts)
    }

    /// The files of a stack's directory at `ref` (the branch by default), by path relative to it.
    public func files(at location: GitOpsLocation, ref: String = GitOpsRepository.branch) throws(GitOpsError) -> [String: [UInt8]] {
        guard try resolve(ref) != nil else { return [:] }
        let listing = try git.run(["ls-tree", "-r", "-z", "--full-tree", ref, "--", location.directory + "/"])
        guard listing.status == 0 else {
            throw .commandFailed(command: "ls-tree", status: listing.status, message: listing.errorText)
        }
        var files: [String: [UInt8]] = [:]
        for record in listing.stdout.split(separator: 0) {
            let text = String(decoding: record, as: UTF8.self)
            guard let tab = text.firstIndex(of: "\t") else { continue }
            let fields = text[..<tab].split(separator: " ")
            let fullPath = String(text[text.index(after: tab)...])
            guard fields.count == 3 else { continue }
            let blob = try git.run(["cat-file", "blob", String(fields[2])])
            files[String(fullPath.dropFirst(location.directory.count + 1))] = blob.stdout
        }
        return files
    }

    // MARK: steps

    /// Writes every file as a blob with one `git hash-object --stdin-paths` (one process for the
    /// whole revision, not one per file); answers the blob ids in file order.
    func writeBlobs(_ files: [ArtifactFile]) throws(GitOpsError) -> [String] {
        guard !files.isEmpty else { return [] }
        let fileManager = FileManager.default
        let directory = fileManager.temporaryDirectory.appendingPathComponent("gitops-blobs-\(UUID().uuidString)")
        defer { try? fileManager.removeItem(at: directory) }
        var paths = ""
        do {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
            for (index, file) in files.enumerated() {
                let path = directory.appendingPathComponent(String(index))
                try Data(file.contents).write(to: path)
                paths += path.path + "\n"
            }
        } catch {
            throw .commandFailed(command: "hash-object", status: -1, message: "cannot write the revision's files to a temporary directory")
        }
        let output = try git.check(["hash-object", "-w", "--no-filters", "--stdin-paths"], input: Array(paths.utf8))
        let blobs = output.split(separator: "\n").map(String.init)
        guard blobs.count == files.count else {
            throw .commandFailed(command: "hash-object", status: 0, message: "expected \(files.count) blob ids, got \(blobs.count)")
        }
        return blobs
    }

    /// The tree of `base` with the stack's directory holding exactly `entries` (NUL-terminated
    /// `index-info` records), built in a temporary index that is removed afterwards.
    func tree(base: String?, replacing location: GitOpsLocation, with entries: [UInt8]) throws(GitOpsError) -> String {
        var input: [UInt8] = []
        if let base {
            let listing = try git.run(["ls-tree", "-r", "-z", "--full-tree", base])
            guard listing.status == 0 else {
                throw .commandFailed(command: "ls-tree", status: listing.status, message: listing.errorText)
            }
            let prefix = Array((location.directory + "/").utf8)
            for record in listing.stdout.split(separator: 0) {
                guard let tab = record.firstIndex(of: UInt8(ascii: "\t")) else { continue }
                let entryPath = record[(tab + 1)...]
                if entryPath.starts(with: prefix) { continue }
                input += record
                input.append(0)
            }
        }
        input += entries
        let index = FileManager.default.temporaryDirectory.appendingPathComponent("gitops-index-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: index) }
        let indexed = git.adding(["GIT_INDEX_FILE": index.path])
        try indexed.check(["read-tree", "--empty"])
        if !input.isEmpty {
            try indexed.check(["update-index", "-z", "--index-info"], input: input)
        }
        return try indexed.check(["write-tree"])
    }

    func commitTree(_ tree: String, parent: String?, message: String) throws(GitOpsError) -> String {
        let identity = git.adding([
            "GIT_AUTHOR_NAME": "Provisioner", "GIT_AUTHOR_EMAIL": "provisioner@localhost",
            "GIT_COMMITTER_NAME": "Provisioner", "GIT_COMMITTER_EMAIL": "provisioner@localhost",
        ])
        var arguments = ["commit-tree", "--no-gpg-sign", tree]
        if let parent { arguments += ["-p", parent] }
        arguments += ["-F", "-"]
        return try identity.check(arguments, input: Array(message.utf8))
    }

    /// Moves the branch from `expected` (absent when `nil`) to `target`; `false` when the branch
    /// was somewhere else (a lost race).
    func updateRef(to target: String, expected: String?, reason: String) throws(GitOpsError) -> Bool {
        let old = expected ?? String(repeating: "0", count: target.count)
        let output = try git.run(["update-ref", "-m", "provisioner: \(reason)", Self.branch, target, old])
        if output.status == 0 { return true }
        if try head() != expected { return false }
        throw .commandFailed(command: "update-ref", status: output.status, message: output.errorText)
    }

    /// The commit that last changed the stack's directory in `commit`'s history.
    func lastChange(of location: GitOpsLocation, at commit: String) throws(GitOpsError) -> String? {
        let sha = try git.check(["log", "-1", "--format=%H", commit, "--", location.directory])
        return sha.isEmpty ? nil : sha
    }

    func resolve(_ revision: String) throws(GitOpsError) -> String? {
        let output = try git.run(["rev-parse", "--verify", "--quiet", revision])
        return output.status == 0 && !output.text.isEmpty ? output.text : nil
    }

    /// Waits a little before retrying a lost race, longer on each attempt, with jitter.
    func backOff(_ attempt: Int) {
        let milliseconds = Int.random(in: 5...(20 * attempt))
        Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
    }

    /// The kill test's pause point (see ``pauseBeforeUpdateRefVariable``).
    static func pauseIfAsked() {
        guard let marker = ProcessInfo.processInfo.environment[pauseBeforeUpdateRefVariable], !marker.isEmpty else { return }
        _ = FileManager.default.createFile(atPath: marker, contents: Data("objects written\n".utf8))
        Thread.sleep(forTimeInterval: 30)
    }

    // MARK: message

    /// `<directory>: revision <digest prefix>` and trailers naming the job, the actor and the digest.
    static func message(_ revision: ArtifactRevision, _ location: GitOpsLocation, job: String, actor: String) -> String {
        """
        \(location.directory): revision \(revision.digest.prefix(12))

        Stack: \(location.stack)
        Region: \(location.region)
        Job: \(clean(job))
        Actor: \(clean(actor))
        Revision-Digest: \(revision.digest)
        Files: \(revision.files.count)

        """
    }

    /// One printable line of at most 200 characters.
    static func clean(_ text: String) -> String {
        let printable = text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : String($0) }.joined()
        return String(printable.prefix(200))
    }
}
