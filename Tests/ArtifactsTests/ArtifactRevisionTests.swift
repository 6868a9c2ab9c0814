import Artifacts
import Testing

@Suite struct ArtifactRevisionTests {
    @Test(arguments: [
        "kubernetes/base/deployment-web.yaml", "compose/compose.yaml", "odoo.conf", "a/b_c-d.1",
    ])
    func safePathsAreAccepted(path: String) throws {
        #expect(try ArtifactFile(path: path, contents: Array("x".utf8)).path == path)
    }

    @Test(arguments: [
        "", "/etc/passwd", "../up", "a/../b", "a//b", "a/./b", "trailing/", "space here", "new\nline", "quote\"",
        "back`tick", String(repeating: "a", count: 256),
    ])
    func unsafePathsAreRefused(path: String) {
        #expect(throws: ArtifactError.unsafePath(path)) {
            try ArtifactFile(path: path, contents: [])
        }
    }

    @Test func theDigestCoversPathsSizesAndContentsNotOrder() throws {
        let a = try ArtifactFile(path: "a.yaml", contents: Array("kind: A\n".utf8))
        let b = try ArtifactFile(path: "dir/b.yaml", contents: Array("kind: B\n".utf8))
        let forward = try ArtifactRevision(files: [a, b])
        let backward = try ArtifactRevision(files: [b, a])
        #expect(forward == backward)
        #expect(forward.files.map(\.path) == ["a.yaml", "dir/b.yaml"])
        #expect(a.sha256 == "7484dcdfb548dc36cb6cd1f2e55c294ae93e8806da968f3a3fe0397340cd200a")
        #expect(forward.manifest == "\(a.sha256) 8 a.yaml\n\(b.sha256) 8 dir/b.yaml\n")
        let changed = try ArtifactRevision(files: [a, try ArtifactFile(path: "dir/b.yaml", contents: Array("kind: C\n".utf8))])
        #expect(changed.digest != forward.digest)
        let renamed = try ArtifactRevision(files: [a, try ArtifactFile(path: "dir/c.yaml", contents: b.contents)])
        #expect(renamed.digest != forward.digest)
        #expect(forward.file(at: "dir/b.yaml") == b)
        #expect(forward.file(at: "missing") == nil)
    }

    @Test func duplicatePathsAreRefused() throws {
        let a = try ArtifactFile(path: "a.yaml", contents: [1])
        let again = try ArtifactFile(path: "a.yaml", contents: [2])
        #expect(throws: ArtifactError.duplicatePath("a.yaml")) {
            try ArtifactRevision(files: [a, again])
        }
    }
}
