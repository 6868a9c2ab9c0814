import Artifacts
import Catalog
import Foundation
import HTTPTypes
import HummingbirdTesting
import JWT
import Jobs
import Testing

@testable import API

/// Every operation of `openapi/openapi.yaml` called by every role of the brief,
/// in its own organization and in another, bare and narrowed by `scope`.
///
/// The expected outcomes below are written from the brief's role descriptions,
/// not from `Role.permissions`, so that a mistake in that table shows up here.
@Suite(.timeLimit(.minutes(3))) struct AccessMatrixTests {
    /// A role as the brief places it: staff roles on tokens without `org`,
    /// organization roles on tokens with one, `auditor` on both.
    enum Caller: Hashable, Sendable {
        case platformAdmin, platformOperator, staffAuditor
        case orgAdmin, orgOperator, orgViewer, orgAuditor
    }

    /// What an operation needs and who may call it.
    struct Expectation: Sendable {
        /// `nil`: an operations endpoint, open to anyone.
        var scope: String?
        var allowed: Set<Caller>
        /// The target belongs to an organization: a caller bound to another one gets 404.
        var ownedByOrganization: Bool
    }

    // The brief, role by role:
    // - platform-admin: everything.
    // - platform-operator: regions, stacks, jobs, all organizations' tenants (and
    //   reading the organizations and brands they sit in); no plans, no token
    //   minting, no organization or brand management, no audit.
    // - org-admin: everything inside its organization: renaming it, brands,
    //   tenants, jobs, partner tokens, its audit events; reads the regions and
    //   plans its organization uses. Creating or deleting organizations is staff work.
    // - org-operator: tenants, jobs and actions inside its organization, and reads there.
    // - org-viewer: reads inside its organization.
    // - auditor: audit events only (its organization's, or all for staff).
    static let readers: Set<Caller> = [.platformAdmin, .platformOperator, .orgAdmin, .orgOperator, .orgViewer]
    static let planReaders: Set<Caller> = [.platformAdmin, .orgAdmin, .orgOperator, .orgViewer]
    static let staffWriters: Set<Caller> = [.platformAdmin, .platformOperator]
    static let tenantWriters: Set<Caller> = [.platformAdmin, .platformOperator, .orgAdmin, .orgOperator]
    static let organizationManagers: Set<Caller> = [.platformAdmin, .orgAdmin]
    static let auditReaders: Set<Caller> = [.platformAdmin, .orgAdmin, .staffAuditor, .orgAuditor]

    static func anyone() -> Expectation { Expectation(scope: nil, allowed: [], ownedByOrganization: false) }
    static func global(_ scope: String, _ allowed: Set<Caller>) -> Expectation {
        Expectation(scope: scope, allowed: allowed, ownedByOrganization: false)
    }
    static func owned(_ scope: String, _ allowed: Set<Caller>) -> Expectation {
        Expectation(scope: scope, allowed: allowed, ownedByOrganization: true)
    }

    /// Every operation of the brief's API contract. Operations the spec does not
    /// have yet are kept so that they are covered the day they land.
    static let expectations: [String: Expectation] = [
        "GET /healthz": anyone(),
        "GET /readyz": anyone(),
        "GET /metrics": anyone(),
        "GET /openapi.yaml": anyone(),
        "GET /.well-known/jwks.json": anyone(),

        "GET /v1/regions": global("regions:read", readers),
        "POST /v1/regions": global("regions:write", staffWriters),
        "GET /v1/regions/{region}": global("regions:read", readers),
        "PATCH /v1/regions/{region}": global("regions:write", staffWriters),
        "DELETE /v1/regions/{region}": global("regions:write", staffWriters),

        "GET /v1/plans": global("plans:read", planReaders),
        "POST /v1/plans": global("plans:write", [.platformAdmin]),
        "GET /v1/plans/{plan}": global("plans:read", planReaders),
        "PATCH /v1/plans/{plan}": global("plans:write", [.platformAdmin]),

        // The list answers each caller its own organizations.
        "GET /v1/organizations": global("orgs:read", readers),
        "POST /v1/organizations": global("orgs:write", [.platformAdmin]),
        "GET /v1/organizations/{org}": owned("orgs:read", readers),
        "PATCH /v1/organizations/{org}": owned("orgs:write", organizationManagers),
        "DELETE /v1/organizations/{org}": owned("orgs:write", [.platformAdmin]),

        "GET /v1/organizations/{org}/brands": owned("brands:read", readers),
        "POST /v1/organizations/{org}/brands": owned("brands:write", organizationManagers),
        "GET /v1/organizations/{org}/brands/{brand}": owned("brands:read", readers),
        "PATCH /v1/organizations/{org}/brands/{brand}": owned("brands:write", organizationManagers),
        "DELETE /v1/organizations/{org}/brands/{brand}": owned("brands:write", organizationManagers),

        "GET /v1/organizations/{org}/tenants": owned("tenants:read", readers),
        "POST /v1/organizations/{org}/tenants": owned("tenants:write", tenantWriters),
        "GET /v1/organizations/{org}/tenants/{tenant}": owned("tenants:read", readers),
        "PATCH /v1/organizations/{org}/tenants/{tenant}": owned("tenants:write", tenantWriters),
        "DELETE /v1/organizations/{org}/tenants/{tenant}": owned("tenants:write", tenantWriters),
        "POST /v1/organizations/{org}/tenants/{tenant}/suspend": owned("tenants:actions", tenantWriters),
        "POST /v1/organizations/{org}/tenants/{tenant}/resume": owned("tenants:actions", tenantWriters),
        "GET /v1/organizations/{org}/usage": owned("orgs:read", readers),

        "GET /v1/organizations/{org}/jobs": owned("jobs:read", readers),
        "GET /v1/jobs/{job}": owned("jobs:read", readers),
        "POST /v1/jobs/{job}/cancel": owned("jobs:write", tenantWriters),

        // An organization sees only the dedicated stacks of its own tenants.
        "GET /v1/stacks": global("stacks:read", readers),
        "GET /v1/stacks/{stack}": owned("stacks:read", readers),
        "GET /v1/stacks/{stack}/artifacts": owned("artifacts:read", readers),
        "GET /v1/stacks/{stack}/artifacts/file": owned("artifacts:read", readers),
        "GET /v1/stacks/{stack}/artifacts.tar.gz": owned("artifacts:read", readers),
        "GET /v1/stacks/{stack}/artifacts/diff": owned("artifacts:read", readers),

        "GET /v1/organizations/{org}/tokens": owned("tokens:write", organizationManagers),
        "POST /v1/organizations/{org}/tokens": owned("tokens:write", organizationManagers),
        "DELETE /v1/organizations/{org}/tokens/{token}": owned("tokens:write", organizationManagers),

        // The list answers each caller the events of its own organization.
        "GET /v1/audit-events": global("audit:read", auditReaders),
    ]

    /// A token the matrix calls with. `callers` are the roles that count on it.
    struct MatrixToken: Sendable, CustomTestStringConvertible {
        var name: String
        var roles: [String]
        var callers: Set<Caller>
        var organization: String?
        var scope: String?
        var anonymous = false

        var testDescription: String { name }
    }

    static let home = "org-a"
    /// The dedicated stack of the home organization's tenant `shop`, with one revision.
    static let stack = UUID(uuidString: "5eed0000-0000-4000-8000-00000000a001")!

    static let tokens: [MatrixToken] = {
        var tokens: [MatrixToken] = [
            .init(name: "platform-admin", roles: ["platform-admin"], callers: [.platformAdmin]),
            .init(name: "platform-operator", roles: ["platform-operator"], callers: [.platformOperator]),
            .init(name: "staff auditor", roles: ["auditor"], callers: [.staffAuditor]),
        ]
        let organizationRoles: [(String, Caller)] = [
            ("org-admin", .orgAdmin), ("org-operator", .orgOperator), ("org-viewer", .orgViewer), ("auditor", .orgAuditor),
        ]
        for (role, caller) in organizationRoles {
            tokens.append(.init(name: "\(role) of its organization", roles: [role], callers: [caller], organization: home))
            tokens.append(.init(name: "\(role) of another organization", roles: [role], callers: [caller], organization: "org-b"))
        }
        tokens += [
            // Roles outside their placement grant nothing.
            .init(name: "org-admin without org", roles: ["org-admin"], callers: []),
            .init(name: "platform-admin with org", roles: ["platform-admin"], callers: [], organization: home),
            .init(name: "unknown role", roles: ["superuser"], callers: [], organization: home),
            // Several roles add up.
            .init(
                name: "org-viewer and auditor", roles: ["org-viewer", "auditor"], callers: [.orgViewer, .orgAuditor],
                organization: home
            ),
            // A scope narrows what the roles allow, and never widens it.
            .init(
                name: "platform-admin narrowed to reads", roles: ["platform-admin"], callers: [.platformAdmin],
                scope: "regions:read orgs:read brands:read"
            ),
            .init(
                name: "platform-operator narrowed to tenants", roles: ["platform-operator"], callers: [.platformOperator],
                scope: "tenants:read tenants:write plans:read"
            ),
            .init(
                name: "org-admin narrowed to brands", roles: ["org-admin"], callers: [.orgAdmin], organization: home,
                scope: "brands:read brands:write"
            ),
            .init(
                name: "org-viewer asking for writes", roles: ["org-viewer"], callers: [.orgViewer], organization: home,
                scope: "brands:read brands:write orgs:write regions:write"
            ),
            .init(name: "org-admin with an empty scope", roles: ["org-admin"], callers: [.orgAdmin], organization: home, scope: ""),
            .init(
                name: "org-admin of another organization narrowed", roles: ["org-admin"], callers: [.orgAdmin],
                organization: "org-b", scope: "orgs:read brands:read"
            ),
            .init(name: "no token", roles: [], callers: [], anonymous: true),
        ]
        return tokens
    }()

    enum Outcome: String, Equatable {
        case allowed, unauthorized, forbidden, failed
        case notFound = "not found"
    }

    static func expected(_ expectation: Expectation, for token: MatrixToken) -> Outcome {
        guard let scope = expectation.scope else { return .allowed }
        if token.anonymous { return .unauthorized }
        if expectation.ownedByOrganization, let organization = token.organization, organization != home { return .notFound }
        let roleAllows = !token.callers.isDisjoint(with: expectation.allowed)
        let scopeAllows = token.scope.map { $0.split(separator: " ").contains(Substring(scope)) } ?? true
        return roleAllows && scopeAllows ? .allowed : .forbidden
    }

    /// Allowed is anything the handler answered: 2xx, or a 4xx other than 401, 403 and 404
    /// (the requests below target existing resources and refuse to change them: POST
    /// bodies are incomplete, PATCH and DELETE carry a stale `If-Match`).
    static func observed(_ status: HTTPResponse.Status) -> Outcome {
        switch status.code {
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 200..<300, 400..<500: .allowed
        default: .failed
        }
    }

    @Test func everySpecOperationHasAnExpectation() throws {
        let specified = try SpecTests.specOperations()
        #expect(!specified.isEmpty)
        let missing = specified.subtracting(Self.expectations.keys).sorted()
        #expect(missing == [], "add these operations to AccessMatrixTests.expectations")
    }

    @Test(arguments: tokens)
    func everyOperationAnswersAsTheBriefSays(token: MatrixToken) async throws {
        try await TestHarness.run { harness, client in
            try await Self.seed(harness, client)
            let bearer = token.anonymous ? nil : try Self.sign(token, harness: harness)
            let specified = try SpecTests.specOperations()
            var walked = Set<String>()
            for operation in specified.sorted() {
                let expectation = try #require(Self.expectations[operation], "no expectation for \(operation)")
                let (method, template) = try Self.split(operation)
                let path = try await Self.concrete(template, client: client, harness: harness)
                let response = try await client.call(
                    method, path, token: bearer, json: Self.body(for: method), headers: Self.headers(for: method)
                )
                let outcome = Self.observed(response.status)
                #expect(
                    outcome == Self.expected(expectation, for: token),
                    "\(token.name): \(operation) answered \(response.status.code) \(response.object["code"]?.stringValue ?? "")"
                )
                walked.insert(operation)
            }
            #expect(walked == specified)
        }
    }

    @Test func openRoutesAreExactlyTheOperationsEndpoints() async throws {
        try await TestHarness.run { harness, _ in
            let open = Set(harness.routes.access.filter { $0.value == .open }.keys)
            let expectedOpen = Set(Self.expectations.filter { $0.value.scope == nil }.keys)
            #expect(open.isSubset(of: expectedOpen), "\(open.subtracting(expectedOpen).sorted())")
            for operation in harness.routes.operations {
                #expect(harness.routes.access["\(operation.method.rawValue) \(operation.path)"] != nil)
            }
        }
    }

    // MARK: requests

    static func split(_ operation: String) throws -> (HTTPRequest.Method, String) {
        let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
        let method = try #require(parts.count == 2 ? HTTPRequest.Method(parts[0]) : nil, "bad operation \(operation)")
        return (method, parts[1])
    }

    /// Resources of the home organization (and one of another) that every call targets.
    static func seed(_ harness: TestHarness, _ client: some TestClientProtocol) async throws {
        try await client.seed(harness, org: home)
        let admin = try harness.token("platform-admin")
        let setup: [(String, String)] = [
            ("/v1/organizations", #"{"slug":"org-b","name":"B","plan":"basic"}"#),
            ("/v1/organizations/org-a/brands", #"{"slug":"brand-a","name":"A","default_region":"eu-west"}"#),
            ("/v1/organizations/org-b/brands", #"{"slug":"brand-b","name":"B"}"#),
        ]
        for (path, body) in setup {
            let response = try await client.call(.post, path, token: admin, json: body)
            try #require(response.status == .created, "seeding \(path): \(response.status)")
        }
        let tenant = try await client.call(
            .post, "/v1/organizations/org-a/tenants", token: admin,
            json: #"{"slug":"shop","brand":"brand-a","environment":"staging","placement":"shared","size":"s","odoo_version":"17.0"}"#
        )
        try #require(tenant.status == .accepted, "seeding the tenant: \(tenant.status)")
        _ = try await StackStore(pool: harness.pool).create(
            Stack(id: stack, name: "org-a-shop", region: "eu-west", kind: .dedicated, odooVersion: "17.0", organization: home, tenant: "shop")
        )
        let files = try ArtifactRevision(files: [try ArtifactFile(path: "kustomization.yaml", contents: Array("resources: []\n".utf8))])
        _ = try await ArtifactStore(pool: harness.pool).record(files, stack: stack, job: nil, actor: "matrix")
    }

    /// The template with its parameters replaced by seeded resources of the home organization.
    static func concrete(_ template: String, client: some TestClientProtocol, harness: TestHarness) async throws -> String {
        var path = template
        let fixed = [
            "{region}": "eu-west", "{plan}": "basic", "{org}": home, "{brand}": "brand-a", "{tenant}": "shop",
            "{stack}": stack.uuidString.lowercased(),
        ]
        for (placeholder, value) in fixed { path = path.replacingOccurrences(of: placeholder, with: value) }
        if path.contains("{token}") {
            path = path.replacingOccurrences(of: "{token}", with: try await partnerToken(client: client, harness: harness))
        }
        if path.contains("{job}") {
            // A fresh waiting job of the home organization (a cancel finishes the one it names).
            let ids = try await JobQueue(pool: harness.pool).enqueue([JobRequest(kind: "tenant.provision", organization: home)])
            path = path.replacingOccurrences(of: "{job}", with: try #require(ids.first).uuidString.lowercased())
        }
        try #require(!path.contains("{"), "no fixture for a parameter of \(template): add one to AccessMatrixTests.concrete")
        switch template {
        case "/v1/stacks/{stack}/artifacts/file": path += "?path=kustomization.yaml"
        case "/v1/stacks/{stack}/artifacts/diff": path += "?from=1&to=1"
        default: break
        }
        return path
    }

    /// A fresh partner token of the home organization (a DELETE revokes the one it names).
    static func partnerToken(client: some TestClientProtocol, harness: TestHarness) async throws -> String {
        let created = try await client.call(
            .post, "/v1/organizations/\(home)/tokens", token: try harness.token("platform-admin"),
            json: #"{"name":"matrix","scopes":["tenants:read"]}"#
        )
        return try #require(created.object["id"]?.stringValue, "creating a partner token: \(created.status)")
    }

    /// Incomplete bodies: the handler answers 422 once access is granted, and nothing is created.
    static func body(for method: HTTPRequest.Method) -> String? {
        method == .post || method == .patch ? "{}" : nil
    }

    /// A stale precondition: the handler answers 412 once access is granted, and nothing changes.
    static func headers(for method: HTTPRequest.Method) -> [String: String] {
        method == .patch || method == .delete ? ["If-Match": #""999999""#] : [:]
    }

    static func sign(_ token: MatrixToken, harness: TestHarness) throws -> String {
        try harness.token(token.roles.first ?? "", org: token.organization, subject: "matrix") { claims in
            claims["roles"] = .array(token.roles.map { .string($0) })
            if let scope = token.scope { claims["scope"] = .string(scope) }
        }
    }
}
