import Foundation
import Testing

@testable import API

/// The line diff and its unified form, checked by applying the output with `patch`.
struct UnifiedDiffTests {
    static let cases: [(String, String)] = [
        ("", "a\nb\n"),
        ("a\nb\n", ""),
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\nb\nc", "a\nb\nc\n"),
        ("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n", "1\nx\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\ny\n15\n16\n"),
        ("1\n2\n3\n4\n5\n6\n7\n8\n", "1\nx\n3\n4\n5\n6\ny\n8\n"),
        ("a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n"),
        ("same\n", "same\nmore\n"),
    ]

    @Test(arguments: cases.indices)
    func patchTurnsTheOldFileIntoTheNewOne(index: Int) throws {
        let (old, new) = Self.cases[index]
        let diff = UnifiedDiff.file(path: "f.txt", old: old.isEmpty ? nil : Array(old.utf8), new: new.isEmpty ? nil : Array(new.utf8))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("f.txt")
        if !old.isEmpty { try Data(old.utf8).write(to: file) }
        let patchFile = directory.appendingPathComponent("p.diff")
        try Data(diff.utf8).write(to: patchFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["patch", "-s", "-p1", "-d", directory.path, "-i", patchFile.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(diff)")
        let result = (try? Data(contentsOf: file)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(result == new, "\(diff)")
    }

    @Test func hunksKeepThreeLinesOfContext() {
        let old = (1...20).map { "\($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "\n10\n", with: "\nten\n")
        let diff = UnifiedDiff.file(path: "n", old: Array(old.utf8), new: Array(new.utf8))
        #expect(diff == "--- a/n\n+++ b/n\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n")
    }

    @Test func binaryFilesAreNamedNotPrinted() {
        #expect(UnifiedDiff.file(path: "b", old: [0xff, 0xfe], new: [0xff]) == "Binary files a/b and b/b differ\n")
    }

    @Test func theEditScriptIsShortest() {
        let script = LineDiff.operations(Array("abcabba"), Array("cbabac"))
        #expect(script.filter { if case .equal = $0 { false } else { true } }.count == 5)
    }
}
