import Foundation
import Testing

@testable import API

/// The ustar writer and gzip, read back by the system's `tar`.
struct TarArchiveTests {
    @Test func longPathsAreSplitIntoPrefixAndName() throws {
        let deep = (1...12).map { "directory-\($0)" }.joined(separator: "/") + "/a-file-name-that-is-long-enough.yaml"
        #expect(deep.utf8.count > 100)
        let files: [(path: String, contents: [UInt8])] = [
            (deep, Array("deep\n".utf8)), ("empty", []), ("block", [UInt8](repeating: 0x41, count: 512)),
        ]
        let archive = try Gzip.compress(try TarArchive.archive(files, modified: 1_700_000_000))
        #expect(archive.count > 18 && archive[0] == 0x1f && archive[1] == 0x8b)
        #expect(try Gzip.compress(try TarArchive.archive(files, modified: 1_700_000_000)) == archive)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("a.tar.gz")
        try Data(archive).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "-xzf", file.path, "-C", directory.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for entry in files {
            #expect(try Data(contentsOf: directory.appendingPathComponent(entry.path)) == Data(entry.contents), "\(entry.path)")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("empty").path)
        #expect((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 == 1_700_000_000)
    }

    @Test func aNameThatCannotBeSplitIsRefused() {
        let path = String(repeating: "x", count: 101)
        #expect(throws: TarArchive.PathTooLong.self) { _ = try TarArchive.archive([(path, [])], modified: 0) }
    }
}
