import Artifacts
import Foundation
import Rendering
import Testing

/// The rendered files of several specs, byte for byte, against `Golden/<case>/`. Set
/// `PROVISIONER_UPDATE_GOLDEN=1` to rewrite the golden files from the current templates.
@Suite struct GoldenFileTests {
    static let cases = ["shared-three-tenants", "dedicated-custom-domain", "shared-odoo16-cert-manager"]

    static func spec(for name: String) throws -> StackSpec {
        switch name {
        case "shared-odoo16-cert-manager":
            var spec = try RenderingFixtures.shared
            spec.stackName = "eu-west-shared-16-1"
            spec.odooVersion = "16.0"
            spec.image.tag = "16.0-20250520"
            spec.size = "xs"
            spec.tls = StackSpec.TLS(mode: "cert-manager", issuer: "letsencrypt-prod")
            spec.gitops.path = "eu-west/eu-west-shared-16-1"
            spec.database.role = "s_eu_west_shared_16_1"
            return spec
        default:
            return try RenderingFixtures.example(name)
        }
    }

    @Test(arguments: cases)
    func matchesGoldenFiles(_ name: String) throws {
        let revision = try RenderingFixtures.renderer().render(try Self.spec(for: name))
        let directory = RenderingFixtures.goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["PROVISIONER_UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: directory)
            for file in revision.files {
                let url = directory.appendingPathComponent(file.path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.contents).write(to: url)
            }
            try Data(revision.manifest.utf8).write(to: directory.appendingPathComponent("MANIFEST"))
        }
        let manifest = try String(contentsOf: directory.appendingPathComponent("MANIFEST"), encoding: .utf8)
        #expect(revision.manifest == manifest, "file list or digests changed; rerun with PROVISIONER_UPDATE_GOLDEN=1 and review the diff")
        for file in revision.files {
            let golden = try Data(contentsOf: directory.appendingPathComponent(file.path))
            #expect(Array(golden) == file.contents, "\(name)/\(file.path) differs from its golden file")
        }
    }
}
