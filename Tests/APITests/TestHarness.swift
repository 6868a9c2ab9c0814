import API
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Logging
import Postgres
import TestSupport

/// A router over a fresh catalog schema, and tokens signed by a key it trusts.
struct TestHarness: Sendable {
    static let issuer = "https://idp.test"
    static let audience = "provisioner"

    let routes: RouteRegistry
    let pool: PostgresPool
    let signingKey: JWTSigningKey
    /// The master-key box of secrets at rest (partner-token signing keys, region URLs).
    let sealer: SecretBox

    /// Tests run without rate limiting unless they ask for it.
    static let unlimited = RequestLimits(requestsPerSecond: 0)

    /// Runs `body` against a router whose catalog lives in a schema of its own; `logger`
    /// receives the service's logs (by default only critical ones, then dropped).
    static func run(
        limits: RequestLimits = unlimited, logger: Logger = Self.logger,
        _ body: @Sendable (TestHarness, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestDatabase.withSchema(migrate: true, poolSize: 8) { pool, _ in
            let (harness, router) = try make(pool: pool, limits: limits, logger: logger)
            let application = Application(router: router, logger: logger)
            try await application.test(.router) { client in
                try await body(harness, client)
            }
        }
    }

    static func make(
        pool: PostgresPool, limits: RequestLimits = unlimited, logger: Logger = Self.logger
    ) throws -> (TestHarness, Router<AppRequestContext>) {
        let signingKey = try JWTSigningKey.generate(.ES256, keyID: "test-key")
        let verifier = JWTVerifier(
            keySet: JSONWebKeySet(keys: [signingKey.verificationKey]),
            configuration: JWTVerifierConfiguration(issuer: issuer, audience: audience)
        )
        let root = TestDatabase.repositoryRoot
        let document = try Data(contentsOf: root.appendingPathComponent("openapi/openapi.yaml"))
        let sealer = try SecretBox(key: SecureRandom.bytes(32))
        let dependencies = APIDependencies(
            pool: pool,
            migrator: Migrator(pool: pool, directory: root.appendingPathComponent("migrations"), logger: logger),
            verifier: verifier,
            sealer: sealer,
            limits: limits,
            openAPIDocument: Array(document),
            logger: logger
        )
        let (router, routes) = buildRouter(dependencies)
        return (TestHarness(routes: routes, pool: pool, signingKey: signingKey, sealer: sealer), router)
    }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// A token with the given role, organization and claims; `adjust` edits the claims before signing.
    func token(
        _ role: String, org: String? = nil, subject: String? = nil,
        adjust: (inout [String: JSONValue]) -> Void = { _ in }
    ) throws -> String {
        let now = Date().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(Self.issuer), "aud": .string(Self.audience), "sub": .string(subject ?? "user-\(role)"),
            "roles": .array([.string(role)]), "iat": .number(now), "exp": .number(now + 600),
        ]
        if let org { claims["org"] = .string(org) }
        adjust(&claims)
        return try signingKey.sign(claims: claims)
    }

    var admin: String { (try? token("platform-admin")) ?? "" }
}

/// Request helpers for tests.
extension TestClientProtocol {
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, json: String? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil {
            headers[.contentType] = method == .patch ? "application/merge-patch+json" : "application/json"
        }
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let body = json.map { ByteBuffer(string: $0) }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }

    /// Creates a region, a plan, an organization and optionally a brand as platform admin.
    func seed(_ harness: TestHarness, org: String, plan: String = "basic", region: String = "eu-west") async throws {
        let admin = try harness.token("platform-admin")
        try await call(
            .post, "/v1/regions", token: admin, json: #"{"slug":"\#(region)","name":"EU","base_domain":"eu.example.net"}"#
        )
        try await call(.post, "/v1/plans", token: admin, json: #"{"slug":"\#(plan)","name":"Basic"}"#)
        try await call(
            .post, "/v1/organizations", token: admin, json: #"{"slug":"\#(org)","name":"Org","plan":"\#(plan)"}"#
        )
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONCoding.decode(Array(buffer: body)) }
    var object: [String: JSONValue] { json?.objectValue ?? [:] }
    var text: String { String(buffer: body) }
}
