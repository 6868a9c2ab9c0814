import ArgumentParser
import Foundation
import GitOps

/// Operator commands for the GitOps repository.
struct GitOpsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gitops", abstract: "Inspect the GitOps repository artifact revisions are committed to.",
        subcommands: [GitOpsCheckCommand.self]
    )
}

struct GitOpsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Create the repository if missing, show its branch head, and reach the remote when one is set.",
        discussion: """
            The repository is PROVISIONER_GITOPS_REPO (default $PROVISIONER_DATA_DIR/gitops), a bare git repository \
            created with `git init --bare` when missing. With PROVISIONER_GITOPS_REMOTE set, the remote's `main` is \
            fetched; the remote's address is never printed (it may carry credentials).
            """
    )

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let repository = GitOpsRepository(path: settings.gitopsRepository, remote: settings.gitopsRemote)
        try repository.prepare()
        print("repository \(settings.gitopsRepository.path): main at \(try repository.head() ?? "(no revision yet)")")
        if settings.gitopsRemote != nil {
            print("remote: main at \(try repository.fetchRemoteHead() ?? "(empty)")")
        }
    }
}
