import Artifacts
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Postgres
import Testing

@testable import API

/// `/v1/stacks` and the artifact routes: visibility, revisions, single files, archives and diffs.
@Suite(.timeLimit(.minutes(3))) struct StackArtifactTests {
    struct Fixture: Sendable {
        var shared: Stack
        var shop: Stack
        var web: Stack
        var other: Stack
    }

    static let firstFiles: [String: String] = [
        "kustomization.yaml": "resources:\n  - web.yaml\n",
        "web.yaml": "kind: Deployment\nreplicas: 1\nimage: odoo:17.0\nport: 8069\nname: web\nlabels: a\nend: true\n",
        "odoo.conf": "[options]\nproxy_mode = True\n",
        "old.txt": "gone soon",
    ]
    static let secondFiles: [String: String] = [
        "kustomization.yaml": "resources:\n  - web.yaml\n",
        "web.yaml": "kind: Deployment\nreplicas: 2\nimage: odoo:17.0\nport: 8069\nname: web\nlabels: a\nend: true\n",
        "odoo.conf": "[options]\nproxy_mode = True\n",
        "deep/dir/new.yaml": "new: file\n",
    ]

    static func revision(_ files: [String: String]) throws -> ArtifactRevision {
        try ArtifactRevision(files: files.map { try ArtifactFile(path: $0.key, contents: Array($0.value.utf8)) })
    }

    /// org-a with dedicated stacks for tenants `shop` and `web` (two revisions on `shop`), org-b with
    /// one, and a shared stack.
    static func seed(_ harness: TestHarness, _ client: some TestClientProtocol) async throws -> Fixture {
        try await client.seed(harness, org: "org-a")
        try await client.call(.post, "/v1/organizations", token: harness.admin, json: #"{"slug":"org-b","name":"B","plan":"basic"}"#)
        let stacks = StackStore(pool: harness.pool)
        let shared = try await stacks.create(Stack(name: "shared-17-1", region: "eu-west", kind: .shared, odooVersion: "17.0"))
        let shop = try await stacks.create(
            Stack(name: "org-a-shop", region: "eu-west", kind: .dedicated, odooVersion: "17.0", organization: "org-a", tenant: "shop")
        )
        let web = try await stacks.create(
            Stack(name: "org-a-web", region: "eu-west", kind: .dedicated, odooVersion: "18.0", organization: "org-a", tenant: "web")
        )
        let other = try await stacks.create(
            Stack(name: "org-b-shop", region: "eu-west", kind: .dedicated, odooVersion: "16.0", organization: "org-b", tenant: "shop")
        )
        let artifacts = ArtifactStore(pool: harness.pool)
        for stack in [shared, shop, web, other] {
            _ = try await artifacts.record(try revision(firstFiles), stack: stack.id, job: nil, actor: "seed")
        }
        _ = try await artifacts.record(try revision(secondFiles), stack: shop.id, job: UUID(), actor: "alice")
        return Fixture(shared: shared, shop: shop, web: web, other: other)
    }

    static func path(_ stack: Stack, _ suffix: String = "") -> String {
        "/v1/stacks/\(stack.id.uuidString.lowercased())\(suffix)"
    }

    @Test func staffSeeEveryStackAndOrganizationsOnlyTheirDedicatedOnes() async throws {
        try await TestHarness.run { harness, client in
            let fixture = try await Self.seed(harness, client)
            let all = try await client.call(.get, "/v1/stacks", token: harness.admin)
            #expect(all.status == .ok)
            #expect(all.object["items"]?.arrayValue?.count == 4)

            let viewer = try harness.token("org-viewer", org: "org-a")
            let own = try await client.call(.get, "/v1/stacks", token: viewer)
            let names = Set(own.object["items"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue } ?? [])
            #expect(names == ["org-a-shop", "org-a-web"])
            #expect(try await client.call(.get, Self.path(fixture.shop), token: viewer).status == .ok)
            for stack in [fixture.shared, fixture.other] {
                for suffix in ["", "/artifacts", "/artifacts/file?path=odoo.conf", "/artifacts.tar.gz", "/artifacts/diff"] {
                    let response = try await client.call(.get, Self.path(stack, suffix), token: viewer)
                    #expect(response.status == .notFound, "\(stack.name)\(suffix)")
                }
            }

            // A token confined to tenants sees only those tenants' stacks.
            let confined = try harness.token("org-viewer", org: "org-a") { $0["tenants"] = ["web"] }
            let confinedList = try await client.call(.get, "/v1/stacks", token: confined)
            #expect(confinedList.object["items"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue } == ["org-a-web"])
            #expect(try await client.call(.get, Self.path(fixture.shop), token: confined).status == .notFound)
            #expect(try await client.call(.get, Self.path(fixture.web, "/artifacts"), token: confined).status == .ok)

            // 404 outside the organization comes before 403 for a missing permission.
            let narrow = try harness.token("org-viewer", org: "org-a") { $0["scope"] = "stacks:read" }
            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts"), token: narrow).status == .forbidden)
            #expect(try await client.call(.get, Self.path(fixture.other, "/artifacts"), token: narrow).status == .notFound)
            #expect(try await client.call(.get, Self.path(fixture.shared), token: narrow).status == .notFound)

            // Unknown and malformed ids.
            #expect(try await client.call(.get, "/v1/stacks/\(UUID().uuidString.lowercased())", token: harness.admin).status == .notFound)
            #expect(try await client.call(.get, "/v1/stacks/not-a-uuid/artifacts", token: harness.admin).status == .notFound)
        }
    }

    @Test func stackListsPageWithCursors() async throws {
        try await TestHarness.run { harness, client in
            _ = try await Self.seed(harness, client)
            var seen: [String] = []
            var uri = "/v1/stacks?limit=3"
            while true {
                let page = try await client.call(.get, uri, token: harness.admin)
                #expect(page.status == .ok)
                seen += page.object["items"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? []
                guard let cursor = page.object["next_cursor"]?.stringValue else { break }
                uri = "/v1/stacks?limit=3&cursor=\(cursor)"
            }
            #expect(seen.count == 4 && Set(seen).count == 4)
            let bad = try await client.call(.get, "/v1/stacks?cursor=nope&limit=0", token: harness.admin)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.object["errors"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue } ?? []) == ["cursor", "limit"])
        }
    }

    @Test func artifactListsShowTheCurrentOrTheAskedRevision() async throws {
        try await TestHarness.run { harness, client in
            let fixture = try await Self.seed(harness, client)
            let stack = try await client.call(.get, Self.path(fixture.shop), token: harness.admin)
            #expect(stack.object["current_revision"] == .number(2))
            #expect(stack.object["kind"] == .string("dedicated"))
            #expect(stack.headers[.eTag] != nil)

            let current = try await client.call(.get, Self.path(fixture.shop, "/artifacts"), token: harness.admin)
            #expect(current.status == .ok)
            let second = try Self.revision(Self.secondFiles)
            #expect(current.object["revision"] == .number(2))
            #expect(current.object["digest"] == .string(second.digest))
            #expect(current.object["actor"] == .string("alice"))
            #expect(current.headers[.eTag] == "\"\(second.digest)\"")
            let files = current.object["files"]?.arrayValue?.compactMap(\.objectValue) ?? []
            #expect(files.map { $0["path"]?.stringValue } == second.files.map(\.path))
            #expect(files.map { $0["sha256"]?.stringValue } == second.files.map(\.sha256))
            #expect(files.map { $0["size"] } == second.files.map { .number(Double($0.size)) })

            let first = try await client.call(.get, Self.path(fixture.shop, "/artifacts?revision=1"), token: harness.admin)
            #expect(first.object["revision"] == .number(1))
            #expect(first.object["digest"] == .string(try Self.revision(Self.firstFiles).digest))

            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts?revision=3"), token: harness.admin).status == .notFound)
            for bad in ["0", "-1", "abc", "1.5", "99999999999"] {
                let response = try await client.call(.get, Self.path(fixture.shop, "/artifacts?revision=\(bad)"), token: harness.admin)
                #expect(response.status == .unprocessableContent, "revision=\(bad)")
                #expect(response.object["code"] == .string("validation_failed"))
                #expect(response.object["errors"]?.arrayValue?.first?.objectValue?["field"] == .string("revision"))
            }
            // A stack without revisions has no current artifacts.
            let empty = try await StackStore(pool: harness.pool).create(Stack(name: "empty", region: "eu-west", kind: .shared, odooVersion: "17.0"))
            #expect(try await client.call(.get, Self.path(empty, "/artifacts"), token: harness.admin).status == .notFound)
        }
    }

    @Test func singleFilesComeBackByteForByte() async throws {
        try await TestHarness.run { harness, client in
            let fixture = try await Self.seed(harness, client)
            let yaml = try await client.call(.get, Self.path(fixture.shop, "/artifacts/file?path=deep/dir/new.yaml"), token: harness.admin)
            #expect(yaml.status == .ok)
            #expect(yaml.text == "new: file\n")
            #expect(yaml.headers[.contentType] == "application/yaml")
            let conf = try await client.call(.get, Self.path(fixture.shop, "/artifacts/file?path=odoo.conf"), token: harness.admin)
            #expect(conf.headers[.contentType] == "text/plain; charset=utf-8")
            let old = try await client.call(.get, Self.path(fixture.shop, "/artifacts/file?path=old.txt&revision=1"), token: harness.admin)
            #expect(old.text == "gone soon")

            // Absent in the current revision, or unknown revision: 404.
            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts/file?path=old.txt"), token: harness.admin).status == .notFound)
            #expect(
                try await client.call(.get, Self.path(fixture.shop, "/artifacts/file?path=odoo.conf&revision=7"), token: harness.admin).status
                    == .notFound
            )
            // Bad paths and revisions: 422 with the fields.
            for (query, fields) in [
                ("", ["path"]), ("?path=../etc/passwd", ["path"]), ("?path=/abs", ["path"]), ("?path=a//b", ["path"]),
                ("?path=x&revision=0", ["revision"]), ("?path=..&revision=z", ["path", "revision"]),
            ] {
                let response = try await client.call(.get, Self.path(fixture.shop, "/artifacts/file\(query)"), token: harness.admin)
                #expect(response.status == .unprocessableContent, "\(query)")
                let named = response.object["errors"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue } ?? []
                #expect(Set(named) == Set(fields), "\(query)")
            }
        }
    }

    @Test func archivesHoldEveryFileOfTheRevision() async throws {
        try await TestHarness.run { harness, client in
            let fixture = try await Self.seed(harness, client)
            for (number, files) in [(1, Self.firstFiles), (2, Self.secondFiles)] {
                let response = try await client.call(.get, Self.path(fixture.shop, "/artifacts.tar.gz?revision=\(number)"), token: harness.admin)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/gzip")
                let bytes = Array(buffer: response.body)
                let again = try await client.call(.get, Self.path(fixture.shop, "/artifacts.tar.gz?revision=\(number)"), token: harness.admin)
                #expect(Array(buffer: again.body) == bytes, "the archive is deterministic")

                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("artifacts-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let archive = directory.appendingPathComponent("r.tar.gz")
                try Data(bytes).write(to: archive)
                let listing = try Self.run("/usr/bin/env", ["tar", "-tzf", archive.path])
                #expect(listing.split(separator: "\n").map(String.init) == files.keys.sorted())
                let out = directory.appendingPathComponent("out")
                try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
                _ = try Self.run("/usr/bin/env", ["tar", "-xzf", archive.path, "-C", out.path])
                for (path, text) in files {
                    #expect(try String(contentsOf: out.appendingPathComponent(path), encoding: .utf8) == text, "\(path)")
                }
            }
            let current = try await client.call(.get, Self.path(fixture.shop, "/artifacts.tar.gz"), token: harness.admin)
            #expect(current.headers[.contentDisposition] == "attachment; filename=\"org-a-shop-r2.tar.gz\"")
            #expect(
                try await client.call(.get, Self.path(fixture.shop, "/artifacts.tar.gz?revision=0"), token: harness.admin).status
                    == .unprocessableContent)
            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts.tar.gz?revision=5"), token: harness.admin).status == .notFound)
        }
    }

    @Test func diffsBetweenRevisionsAreUnifiedDiffs() async throws {
        try await TestHarness.run { harness, client in
            let fixture = try await Self.seed(harness, client)
            let response = try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff?from=1&to=2"), token: harness.admin)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
            let expected = """
                --- /dev/null
                +++ b/deep/dir/new.yaml
                @@ -0,0 +1 @@
                +new: file
                --- a/old.txt
                +++ /dev/null
                @@ -1 +0,0 @@
                -gone soon
                \\ No newline at end of file
                --- a/web.yaml
                +++ b/web.yaml
                @@ -1,5 +1,5 @@
                 kind: Deployment
                -replicas: 1
                +replicas: 2
                 image: odoo:17.0
                 port: 8069
                 name: web

                """
            #expect(response.text == expected)
            // Without parameters: the current revision against the one before it.
            let implicit = try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff"), token: harness.admin)
            #expect(implicit.text == expected)
            // The same revision: empty; the reverse: the other way round.
            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff?from=2&to=2"), token: harness.admin).text == "")
            let reverse = try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff?from=2&to=1"), token: harness.admin)
            #expect(reverse.text.contains("--- a/deep/dir/new.yaml\n+++ /dev/null\n"))

            #expect(try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff?from=1&to=9"), token: harness.admin).status == .notFound)
            let bad = try await client.call(.get, Self.path(fixture.shop, "/artifacts/diff?from=x&to=0"), token: harness.admin)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.object["errors"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue } ?? []) == ["from", "to"])
        }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = try output.fileHandleForReading.readToEnd() ?? Data()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(arguments.joined(separator: " ")) failed")
        return String(decoding: data, as: UTF8.self)
    }
}
