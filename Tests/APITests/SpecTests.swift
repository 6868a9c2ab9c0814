import Foundation
import HTTPTypes
import TestSupport
import Testing

@testable import API

@Suite(.timeLimit(.minutes(3))) struct SpecTests {
    /// The (method, path) pairs of `openapi/openapi.yaml`, read from its `paths:` block.
    static func specOperations() throws -> Set<String> {
        let text = try String(
            contentsOf: TestDatabase.repositoryRoot.appendingPathComponent("openapi/openapi.yaml"), encoding: .utf8
        )
        let methods: Set<String> = ["get", "put", "post", "patch", "delete", "head", "options"]
        var operations = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty && !line.hasPrefix("#") {
                inPaths = line.hasPrefix("paths:")
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /") {
                currentPath = String(line.dropFirst(2).prefix { $0 != ":" })
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.dropFirst(4).prefix { $0 != ":" }
                if methods.contains(String(key)) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }

    @Test func routerAndSpecDeclareTheSameOperations() async throws {
        try await TestHarness.run { harness, _ in
            let routed = Set(harness.routes.operations.map { "\($0.method.rawValue) \($0.path)" })
            let specified = try Self.specOperations()
            #expect(!specified.isEmpty)
            #expect(routed.subtracting(specified).sorted() == [], "routes missing from the spec")
            #expect(specified.subtracting(routed).sorted() == [], "spec operations without a route")
        }
    }
}
