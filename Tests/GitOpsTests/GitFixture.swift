import Artifacts
import Foundation
import Testing

@testable import GitOps

/// Temporary folders, revisions built by hand, and the commit probe process.
enum GitFixture {
    static func withDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gitops-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        return try body(root)
    }

    static func revision(_ files: [String: String]) throws -> ArtifactRevision {
        try ArtifactRevision(files: files.map { try ArtifactFile(path: $0.key, contents: Array($0.value.utf8)) })
    }

    static func contents(of revision: ArtifactRevision) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: revision.files.map { ($0.path, $0.contents) })
    }

    static func initBare(_ path: URL) throws {
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        try GitCommand(directory: path).check(["init", "--quiet", "--bare", "--initial-branch=main"])
    }

    static func write(_ files: [String: String], to directory: URL) throws {
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    /// The probe executable, built beside the test bundle.
    static func probe() throws -> URL {
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var directory = runner.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("GitOpsCommitProbe"))
            directory = directory.deletingLastPathComponent()
        }
        if let bundle = Bundle.main.executableURL {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("GitOpsCommitProbe"))
        }
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(found, "GitOpsCommitProbe not found near \(runner.path)")
    }

    static func startProbe(_ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = try probe()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A value shared with closures that run on other threads.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
