import Artifacts
import Foundation
import Mustache
import Rendering
import Testing

@Suite struct StackRendererTests {
    @Test func sameSpecGivesSameBytes() throws {
        let renderer = try RenderingFixtures.renderer()
        let first = try renderer.render(try RenderingFixtures.shared)
        let second = try renderer.render(try RenderingFixtures.shared)
        #expect(first.digest == second.digest)
        #expect(first.files.map(\.sha256) == second.files.map(\.sha256))
        let reloaded = StackRenderer(templates: try TemplateSet.load(directory: RenderingFixtures.templatesDirectory))
        #expect(try reloaded.render(try RenderingFixtures.shared).digest == first.digest)
    }

    @Test func tenantAndDomainOrderDoesNotMatter() throws {
        let renderer = try RenderingFixtures.renderer()
        var shuffled = try RenderingFixtures.shared
        shuffled.tenants.reverse()
        shuffled.tenants[1].customDomains = ["b.example.com", "a.example.com"]
        var sorted = try RenderingFixtures.shared
        sorted.tenants[1].customDomains = ["a.example.com", "b.example.com"]
        #expect(try renderer.render(shuffled).digest == renderer.render(sorted).digest)
    }

    @Test func sharedAndDedicatedFileSets() throws {
        let renderer = try RenderingFixtures.renderer()
        let shared = try renderer.render(try RenderingFixtures.shared).files.map(\.path)
        let dedicated = try renderer.render(try RenderingFixtures.dedicated).files.map(\.path)
        #expect(!shared.contains("compose/compose.yaml"))
        #expect(!shared.contains("kubernetes/database-cluster.yaml"))
        #expect(!shared.contains("kubernetes/certificate.yaml"))
        for path in [
            "compose/compose.yaml", "compose/odoo/web.conf", "kubernetes/database-cluster.yaml", "kubernetes/scheduled-backup.yaml",
            "kubernetes/certificate.yaml", "traefik/dynamic.yaml", "argocd/application.yaml",
        ] {
            #expect(dedicated.contains(path), "\(path)")
        }
    }

    @Test func hostRulesAreExactlyTheValidatedHostnames() throws {
        let revision = try RenderingFixtures.renderer().render(try RenderingFixtures.shared)
        let dynamic = try #require(revision.file(at: "traefik/dynamic.yaml"))
        let rules = String(decoding: dynamic.contents, as: UTF8.self).split(separator: "\n")
            .filter { $0.contains("rule:") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let hosts = [
            "outlet.bolt-group.eu-west.odoo.example.net", "shop.acme-lyon.example.com", "store-lyon.acme-retail.eu-west.odoo.example.net",
            "store-paris.acme-retail.eu-west.odoo.example.net",
        ]
        let expected = hosts.flatMap { host in
            ["rule: Host(`\(host)`)", "rule: Host(`\(host)`) && PathPrefix(`/websocket`)", "rule: Host(`\(host)`)"]
        }
        #expect(rules.sorted() == expected.sorted())
    }

    @Test func odooConfigurationHasNoSecretAndFiltersDatabases() throws {
        let revision = try RenderingFixtures.renderer().render(try RenderingFixtures.shared)
        let web = String(decoding: try #require(revision.file(at: "kubernetes/odoo/web.conf")).contents, as: UTF8.self)
        let cron = String(decoding: try #require(revision.file(at: "kubernetes/odoo/cron.conf")).contents, as: UTF8.self)
        for text in [web, cron] {
            #expect(text.contains("\nproxy_mode = True\n"))
            #expect(text.contains("\nlist_db = False\n"))
            #expect(text.contains("\ndbfilter = ^(t_3h8w1c6v|t_7k2m9q4x|t_9p5d2n7r)$\n"))
            #expect(!text.contains("db_password") && !text.contains("admin_passwd"))
        }
        #expect(web.contains("\nworkers = 5\n") && web.contains("\nmax_cron_threads = 0\n"))
        #expect(cron.contains("\nworkers = 0\n") && cron.contains("\nmax_cron_threads = 2\n") && cron.contains("\nhttp_enable = False\n"))
    }

    @Test func templatesInsertValuesWithoutHTMLEscaping() throws {
        let template = try TemplateSet.compile("a: {{value}}\n", file: "inline")
        #expect(template.render(["value": "x&y<z>'\"/="]) == "a: x&y<z>'\"/=\n")
    }

    @Test func brokenTemplateIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: RenderingFixtures.templatesDirectory, toPath: directory.path)
        let broken = directory.appendingPathComponent("kubernetes/namespace.yaml.mustache")
        try Data("name: {{#open}}\n".utf8).write(to: broken)
        #expect(throws: TemplateError.self) { try TemplateSet.load(directory: directory.path) }
        do {
            _ = try TemplateSet.load(directory: directory.path)
        } catch {
            #expect(error.description.contains("kubernetes/namespace.yaml.mustache"))
            guard case .doesNotCompile = error else {
                Issue.record("expected doesNotCompile, got \(error)")
                return
            }
        }
        try FileManager.default.removeItem(at: broken)
        do {
            _ = try TemplateSet.load(directory: directory.path)
            Issue.record("a missing template was accepted")
        } catch {
            #expect(error == .missing(file: broken.path))
        }
    }

    static let matrix: [(String, String, String, Bool)] = ["shared", "dedicated"].flatMap { kind in
        SizeProfile.all.map(\.name).flatMap { size in
            StackSpec.odooVersions.flatMap { version in [true, false].map { (kind, size, version, $0) } }
        }
    }

    @Test("kinds x sizes x versions x custom domains render", arguments: matrix)
    func matrixRenders(_ kind: String, _ size: String, _ version: String, _ customDomains: Bool) throws {
        var spec = kind == "shared" ? try RenderingFixtures.shared : try RenderingFixtures.dedicated
        spec.size = size
        spec.plan = StackSpec.PlanLimits(cpuMillicores: 64_000, memoryMiB: 131_072, storageGiB: 1_000)
        spec.odooVersion = version
        spec.image.tag = "\(version)-20250520"
        if !customDomains {
            for index in spec.tenants.indices { spec.tenants[index].customDomains = [] }
        }
        let revision = try RenderingFixtures.renderer().render(spec)
        #expect(revision.files.count >= 20)
        let profile = try #require(SizeProfile.named(size))
        let web = String(decoding: try #require(revision.file(at: "kubernetes/odoo-web.yaml")).contents, as: UTF8.self)
        #expect(web.contains("cpu: \"\(profile.webCPULimitMillicores)m\""))
        #expect(web.contains("image: \(spec.image.reference)"))
        let conf = String(decoding: try #require(revision.file(at: "kubernetes/odoo/web.conf")).contents, as: UTF8.self)
        #expect(conf.contains("\nworkers = \(profile.workers)\n"))
    }

    /// A dedicated stack whose tenant is suspended (or being deleted) keeps its workloads, its
    /// database cluster and its tenant, but routes no hostname anywhere.
    @Test func anUnroutedTenantKeepsItsStackButLosesEveryRoute() throws {
        let renderer = try RenderingFixtures.renderer()
        let routed = try renderer.render(try RenderingFixtures.dedicated)
        var spec = try RenderingFixtures.dedicated
        spec.tenants[0].routed = false
        let unrouted = try renderer.render(spec)
        func text(_ revision: ArtifactRevision, _ path: String) -> String? {
            revision.file(at: path).map { String(decoding: $0.contents, as: UTF8.self) }
        }
        #expect(text(routed, "kubernetes/ingress-routes.yaml") != nil)
        #expect(text(unrouted, "kubernetes/ingress-routes.yaml") == nil)
        #expect(text(unrouted, "kubernetes/database-cluster.yaml") == text(routed, "kubernetes/database-cluster.yaml"))
        #expect(text(unrouted, "kubernetes/odoo-web.yaml") == text(routed, "kubernetes/odoo-web.yaml"))
        #expect(text(unrouted, "kubernetes/kustomization.yaml")?.contains("ingress-routes.yaml") == false)
        let traefik = try #require(text(unrouted, "traefik/dynamic.yaml"))
        #expect(traefik.contains("  routers: {}\n"))
        for host in ["flagship.acme-retail.us-east.odoo.example.net", "erp.acme.example.com", "www.acme-store.example.org"] {
            #expect(text(routed, "traefik/dynamic.yaml")?.contains(host) == true)
            #expect(!unrouted.files.contains { String(decoding: $0.contents, as: UTF8.self).contains("Host(`\(host)`)") })
        }
        // The example file says the same.
        #expect(try renderer.render(try RenderingFixtures.example("dedicated-suspended")).files.map(\.path) == unrouted.files.map(\.path))
    }
}
