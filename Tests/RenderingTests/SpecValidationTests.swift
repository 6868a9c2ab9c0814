import Foundation
import Rendering
import Testing

/// One way to break a spec, and the field that must be named for it.
struct SpecMutation: CustomTestStringConvertible, Sendable {
    let label: String
    let field: String
    let dedicated: Bool
    let change: @Sendable (inout StackSpec) -> Void

    init(_ label: String, field: String, dedicated: Bool = false, _ change: @escaping @Sendable (inout StackSpec) -> Void) {
        self.label = label
        self.field = field
        self.dedicated = dedicated
        self.change = change
    }

    var testDescription: String { label }
}

@Suite struct SpecValidationTests {
    static let hostile: [SpecMutation] = [
        SpecMutation("backticks in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["evil.example.com`) || Host(`victim.example.com"]
        },
        SpecMutation("|| in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a.example.com||b.example.com"]
        },
        SpecMutation("&& in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a.example.com&&b.example.com"]
        },
        SpecMutation("newline in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a.example.com\n  rule: Host(`b.example.com`)"]
        },
        SpecMutation("mustache in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["{{namespace}}.example.com"]
        },
        SpecMutation("double quote in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a\".example.com"]
        },
        SpecMutation("single quote in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a'.example.com"]
        },
        SpecMutation("space in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["a .example.com"]
        },
        SpecMutation("64-byte label in a custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = [String(repeating: "a", count: 64) + ".example.com"]
        },
        SpecMutation("over-long custom domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = [Array(repeating: String(repeating: "a", count: 60), count: 5).joined(separator: ".") + ".com"]
        },
        SpecMutation("upper case custom domain", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["Shop.Example.com"] },
        SpecMutation("trailing dot", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["shop.example.com."] },
        SpecMutation("single label", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["localhost"] },
        SpecMutation("leading hyphen label", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["-shop.example.com"] },
        SpecMutation("trailing hyphen label", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["shop-.example.com"] },
        SpecMutation("empty label", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["shop..example.com"] },
        SpecMutation("IPv4 address as a domain", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["10.0.0.1"] },
        SpecMutation("unicode domain", field: "tenants[0].custom_domains[0]") { $0.tenants[0].customDomains = ["bücher.example.com"] },
        SpecMutation("domain under the base domain", field: "tenants[0].custom_domains[0]") {
            $0.tenants[0].customDomains = ["other.acme-retail.eu-west.odoo.example.net"]
        },
        SpecMutation("duplicate hostname across tenants", field: "tenants[1].custom_domains[0]") {
            $0.tenants[0].customDomains = ["shop.example.com"]
            $0.tenants[1].customDomains = ["shop.example.com"]
        },
        SpecMutation("backtick in a tenant slug", field: "tenants[0].slug") { $0.tenants[0].slug = "a`b" },
        SpecMutation("|| in a tenant slug", field: "tenants[0].slug") { $0.tenants[0].slug = "a||b" },
        SpecMutation("newline in an organization slug", field: "tenants[0].organization") { $0.tenants[0].organization = "acme\nx" },
        SpecMutation("mustache in an organization slug", field: "tenants[0].organization") { $0.tenants[0].organization = "{{x}}" },
        SpecMutation("quote in a stack name", field: "stack_name") { $0.stackName = "stack\"x" },
        SpecMutation("over-long stack name", field: "stack_name") { $0.stackName = String(repeating: "a", count: 41) },
        SpecMutation("upper case stack name", field: "stack_name") { $0.stackName = "Stack-one" },
        SpecMutation("slug ending in a hyphen", field: "tenants[0].slug") { $0.tenants[0].slug = "store-" },
        SpecMutation("database name with a quote", field: "tenants[0].database") { $0.tenants[0].database = "t_x'; drop" },
        SpecMutation("database name with a hyphen", field: "tenants[0].database") { $0.tenants[0].database = "t-x" },
        SpecMutation("database name of 64 bytes", field: "tenants[0].database") { $0.tenants[0].database = "t" + String(repeating: "x", count: 63) },
        SpecMutation("role name starting with a digit", field: "tenants[0].role") { $0.tenants[0].role = "1role" },
        SpecMutation("stack role with a space", field: "database.role") { $0.database.role = "odoo role" },
        SpecMutation("latest image tag", field: "image.tag") { $0.image.tag = "latest" },
        SpecMutation("image tag with a space", field: "image.tag") { $0.image.tag = "17.0" + " " },
        SpecMutation("image tag of another version", field: "image.tag") { $0.image.tag = "16.0-20250520" },
        SpecMutation("image repository with upper case", field: "image.repository") { $0.image.repository = "Odoo" },
        SpecMutation("image repository with a tag", field: "image.repository") { $0.image.repository = "odoo:17.0" },
        SpecMutation("redis image without a digit", field: "redis_image.tag") { $0.redisImage.tag = "alpine" },
        SpecMutation("unknown Odoo version", field: "odoo_version") { $0.odooVersion = "15.0" },
        SpecMutation("unknown size", field: "size") { $0.size = "xxl" },
        SpecMutation("unknown kind", field: "kind") { $0.kind = "hybrid" },
        SpecMutation("unknown TLS mode", field: "tls.mode") { $0.tls = StackSpec.TLS(mode: "none") },
        SpecMutation("resolver with a backtick", field: "tls.resolver") { $0.tls = StackSpec.TLS(mode: "resolver", resolver: "le`x") },
        SpecMutation("base domain with a backtick", field: "region.base_domain") { $0.region.baseDomain = "odoo.example.net`" },
        SpecMutation("secret store with a slash", field: "secret_store") { $0.secretStore = "vault/eu" },
        SpecMutation("http GitOps repository", field: "gitops.repo_url") { $0.gitops.repoURL = "http://git.example.net/stacks.git" },
        SpecMutation("GitOps path escaping", field: "gitops.path") { $0.gitops.path = "../other" },
        SpecMutation("GitOps revision option", field: "gitops.revision") { $0.gitops.revision = "--upload-pack=x" },
        SpecMutation("backend with a path", field: "compose.web_backend") { $0.compose.webBackend = "odoo-web:8069/x" },
        SpecMutation("backend without a port", field: "compose.websocket_backend") { $0.compose.websocketBackend = "odoo-web" },
        SpecMutation("shared database CIDR", field: "database.network_cidr") { $0.database.networkCIDR = "10.0.0.0/33" },
        SpecMutation("shared stack with cluster settings", field: "database.instances") { $0.database.instances = 2 },
        SpecMutation("no tenants", field: "tenants") { $0.tenants = [] },
        SpecMutation("plan without CPU", field: "plan.cpu_millicores") { $0.plan.cpuMillicores = 0 },
        SpecMutation("plan CPU below the size's footprint", field: "plan.cpu_millicores") { $0.plan.cpuMillicores = 4_000 },
        SpecMutation("plan memory below the size's footprint", field: "plan.memory_mib") { $0.plan.memoryMiB = 8_192 },
        SpecMutation("plan storage below the database", field: "plan.storage_gib", dedicated: true) { $0.plan.storageGiB = 100 },
        SpecMutation("dedicated stack with two tenants", field: "tenants", dedicated: true) { $0.tenants.append($0.tenants[0]) },
        SpecMutation("dedicated backup schedule injection", field: "database.backup_schedule", dedicated: true) {
            $0.database.backupSchedule = "0 0 3 * * *\"; rm"
        },
        SpecMutation("dedicated five-field cron", field: "database.backup_schedule", dedicated: true) { $0.database.backupSchedule = "0 3 * * *" },
        SpecMutation("dedicated backup destination", field: "database.backup_destination", dedicated: true) {
            $0.database.backupDestination = "s3://bucket/../x"
        },
        SpecMutation("dedicated role not the tenant's", field: "database.role", dedicated: true) { $0.database.role = "someone_else" },
        SpecMutation("dedicated with a shared host", field: "database.host", dedicated: true) { $0.database.host = "pg.example.net" },
    ]

    @Test("a hostile or malformed spec is refused with the field named", arguments: hostile)
    func refused(_ mutation: SpecMutation) throws {
        var spec = mutation.dedicated ? try RenderingFixtures.dedicated : try RenderingFixtures.shared
        mutation.change(&spec)
        let errors = spec.validate()
        #expect(errors.map(\.field).contains(mutation.field), "\(errors)")
        let renderer = try RenderingFixtures.renderer()
        #expect(throws: RenderError.invalidSpec(errors)) { try renderer.render(spec) }
    }

    @Test func examplesAreValid() throws {
        #expect(try RenderingFixtures.shared.validate() == [])
        #expect(try RenderingFixtures.dedicated.validate() == [])
    }

    @Test func everyErrorIsReportedAtOnce() throws {
        var spec = try RenderingFixtures.shared
        spec.stackName = "X"
        spec.size = "huge"
        spec.tenants[2].customDomains = ["a`b.example.com", "ok.example.com"]
        #expect(spec.validate().map(\.field) == ["stack_name", "size", "tenants[2].custom_domains[0]"])
    }

    @Test(arguments: [
        ("shop.example.com", true), ("a.b", true), ("xn--bcher-kva.example.com", true), ("a-b.c-d.example", true),
        (String(repeating: "a", count: 63) + ".com", true), ("example.com.", false), ("EXAMPLE.com", false), ("a_b.example.com", false),
        ("a", false), ("", false), (".example.com", false), ("1.2.3.4", false),
    ])
    func hostnamePattern(_ value: String, _ valid: Bool) {
        #expect(SpecPattern.isHostname(value) == valid)
    }

    @Test(arguments: [
        ("odoo", true), ("ghcr.io/cloudnative-pg/postgresql", true), ("registry.local:5000/odoo/odoo", true), ("library/odoo", true),
        ("Odoo", false), ("odoo:17", false), ("odoo//x", false), ("-odoo", false), ("odoo@sha256", false), ("", false),
    ])
    func imageRepositoryPattern(_ value: String, _ valid: Bool) {
        #expect(SpecPattern.isImageRepository(value) == valid)
    }
}
