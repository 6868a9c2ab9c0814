import Artifacts
import Foundation
import GitOps

// A test helper: commits the files of a directory as one stack revision.
//   GitOpsCommitProbe <repository> <region> <stack> <job> <actor> <files directory> [remote]
// Prints the commit and whether it was created. The kill test runs it with
// PROVISIONER_GITOPS_PAUSE_BEFORE_UPDATE_REF set and kills it with SIGKILL at that point.
let arguments = CommandLine.arguments
guard arguments.count >= 7 else {
    FileHandle.standardError.write(Data("usage: GitOpsCommitProbe repository region stack job actor directory [remote]\n".utf8))
    exit(64)
}
do {
    let directory = URL(fileURLWithPath: arguments[6])
    var files: [ArtifactFile] = []
    let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
    while let url = enumerator?.nextObject() as? URL {
        guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
        let relative = String(url.standardizedFileURL.path.dropFirst(directory.standardizedFileURL.path.count + 1))
        files.append(try ArtifactFile(path: relative, contents: Array(try Data(contentsOf: url))))
    }
    let repository = GitOpsRepository(path: URL(fileURLWithPath: arguments[1]), remote: arguments.count > 7 ? arguments[7] : nil)
    let result = try repository.commit(
        try ArtifactRevision(files: files), at: try GitOpsLocation(region: arguments[2], stack: arguments[3]),
        job: arguments[4], actor: arguments[5]
    )
    print("\(result.sha) \(result.created ? "created" : "unchanged")")
} catch {
    FileHandle.standardError.write(Data("commit failed: \(error)\n".utf8))
    exit(1)
}
