public import Catalog
public import Foundation
public import JWT
public import Logging
public import Postgres
import Synchronization

/// Mints partner tokens with Provisioner's own key, verifies them, checks their
/// revocation, and publishes the public keys.
///
/// Revocation: every request that presents a partner token reads the token's
/// row by primary key (`revoked_at`, `last_used_at`), also when the signature
/// check was cached. A `DELETE` is therefore refused on the very next request
/// by every serve process, with no shared in-memory state. `last_used_at` is
/// written at most once per `PartnerTokenStore.lastUseResolution`.
///
/// Keys: the published set (active key plus retired keys with live tokens) is
/// cached per process for `refreshInterval`, and re-read at once when a token
/// or a mint names a key this process has not seen (rotation by another
/// process), at most once per `unknownKeyCooldown`.
public final class PartnerTokenAuthority: Sendable {
    /// The `iss` of partner tokens unless `PROVISIONER_TOKEN_ISSUER` says otherwise.
    public static let defaultIssuer = "provisioner"
    public static let maximumLifetime: TimeInterval = 90 * 86_400
    public static let defaultLifetime: TimeInterval = 30 * 86_400
    /// The scopes a partner token may carry: what an organization's admin can
    /// hold, except minting tokens (a partner could otherwise outlive its own revocation).
    public static let grantableScopes: Set<Permission> = Role.orgAdmin.permissions.subtracting([.tokensWrite])

    static let refreshInterval: Duration = .seconds(30)
    static let unknownKeyCooldown: Duration = .seconds(1)

    public let issuer: String
    public let audience: String
    let signingKeys: PartnerSigningKeys
    let tokens: PartnerTokenStore
    let logger: Logger
    private let state = Mutex(State())

    struct State {
        var verifier: JWTVerifier?
        var publishedKeys: [JSONValue] = []
        var refreshedAt: ContinuousClock.Instant?
        /// Unsealed private keys by `kid`, so a mint does not open the sealed PEM each time.
        var privateKeys: [String: JWTSigningKey] = [:]
    }

    public init(issuer: String, audience: String, pool: PostgresPool, sealer: any SecretSealer, logger: Logger) {
        self.issuer = issuer
        self.audience = audience
        self.signingKeys = PartnerSigningKeys(pool: pool, sealer: sealer)
        self.tokens = PartnerTokenStore(pool: pool)
        self.logger = logger
    }

    // MARK: - Minting

    /// Records and signs a new token (its `token.create` audit event committing
    /// with the record); returns the record and the token (shown once).
    func mint(
        organization: String, name: String, scopes: [Permission], tenants: [String]?, expiresAt: Date,
        createdBy: String, audit: AuditContext
    ) async throws -> (PartnerToken, String) {
        let record = try await signingKeys.ensureActive()
        let key = try privateKey(record)
        let token = try await tokens.create(
            PartnerToken(
                id: UUID(), organization: organization, name: name, scopes: scopes.map(\.rawValue), tenants: tenants,
                keyID: record.keyID, createdBy: createdBy, expiresAt: expiresAt
            ),
            audit: audit
        )
        let published = state.withLock { $0.publishedKeys.contains { $0.objectValue?["kid"]?.stringValue == record.keyID } }
        if !published { state.withLock { $0.refreshedAt = nil } }
        logger.info(
            "partner token minted",
            metadata: ["token.id": "\(token.id.uuidString.lowercased())", "organization.slug": "\(organization)", "key.id": "\(record.keyID)"]
        )
        return (token, try sign(token, with: key))
    }

    /// The token of a recorded mint, signed again (the same claims, so the same
    /// `jti`): what an idempotent replay of the mint answers, as the token is never stored.
    func reissue(organization: String, id: UUID) async throws -> String {
        let token = try await tokens.get(organization: organization, id: id)
        let key = try privateKey(try await signingKeys.store.key(id: token.keyID))
        return try sign(token, with: key)
    }

    private func privateKey(_ record: SigningKeyRecord) throws -> JWTSigningKey {
        if let cached = state.withLock({ $0.privateKeys[record.keyID] }) { return cached }
        let key = try signingKeys.unseal(record)
        state.withLock { $0.privateKeys[record.keyID] = key }
        return key
    }

    private func sign(_ token: PartnerToken, with key: JWTSigningKey) throws -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer),
            "aud": .string(audience),
            "sub": .string("partner-token:\(token.id.uuidString.lowercased())"),
            "jti": .string(token.id.uuidString.lowercased()),
            "org": .string(token.organization),
            "scope": .string(token.scopes.joined(separator: " ")),
            "iat": .number(token.createdAt.timeIntervalSince1970.rounded(.down)),
            "exp": .number(token.expiresAt.timeIntervalSince1970.rounded(.down)),
        ]
        if let tenants = token.tenants { claims["tenants"] = .array(tenants.map(JSONValue.string)) }
        return try key.sign(claims: claims)
    }

    // MARK: - Verification

    /// Whether `token` claims to be one of ours (its unverified `iss`), so the
    /// authenticator knows which verifier to use; the verifier then checks it all.
    func claimsToBeIssued(_ token: some StringProtocol) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 8192, let payload = try? Base64URL.decode(parts[1]),
            let claims = try? JSONCoding.decode(payload).objectValue
        else { return false }
        return claims["iss"]?.stringValue == issuer
    }

    /// The principal of a partner token and the end of its validity; 401 when
    /// the signature, a claim or the catalog says no.
    func authenticate(_ token: some StringProtocol, now: Date) async throws -> (Principal, Date) {
        var result = Self.verify(token, with: try await verifier(), now: now)
        if case .failure(.unknownKey) = result, refreshAllowed() {
            result = Self.verify(token, with: try await verifier(refresh: true), now: now)
        }
        let verified: VerifiedJWT
        switch result {
        case .success(let value): verified = value
        case .failure(let error): throw refusal(error)
        }
        guard let organization = verified.string("org"), let jti = verified.jwtID, let id = UUID(uuidString: jti)
        else { throw refusal(JWTError.missingClaim("org/jti")) }
        let scopes = (verified.string("scope") ?? "").split(separator: " ").map(String.init)
        var principal = Principal.partner(
            issuer: verified.issuer, subject: verified.subject, organization: organization, scopes: scopes,
            tenants: verified.stringArray("tenants")
        )
        principal.permissions.formIntersection(Self.grantableScopes)
        principal.partnerTokenID = jti
        try await requireActive(id)
        return (principal, verified.expiresAt)
    }

    /// Throws 401 unless the catalog holds the token unrevoked; records its use.
    func requireActive(_ id: UUID) async throws {
        guard let status = try await tokens.status(id: id), !status.revoked else {
            logger.info("partner token refused", metadata: ["token.id": "\(id.uuidString.lowercased())", "auth.reason": "revoked or unknown"])
            throw ProblemError.unauthorized(tokenPresented: true)
        }
        let resolution = Double(PartnerTokenStore.lastUseResolution.components.seconds)
        if let last = status.lastUsedAt, Date().timeIntervalSince(last) < resolution { return }
        do {
            try await tokens.recordUse(id: id)
        } catch {
            // A missed last-use stamp must not fail the request it describes.
            logger.warning("partner token use not recorded", metadata: ["token.id": "\(id.uuidString.lowercased())", "error": "\(error)"])
        }
    }

    /// Throws 401 unless the catalog holds the token with this `jti` unrevoked; records its use.
    func requireActive(tokenID: String) async throws {
        guard let id = UUID(uuidString: tokenID) else { throw ProblemError.unauthorized(tokenPresented: true) }
        try await requireActive(id)
    }

    private static func verify(
        _ token: some StringProtocol, with verifier: JWTVerifier, now: Date
    ) -> Result<VerifiedJWT, JWTError> {
        do throws(JWTError) {
            return .success(try verifier.verify(token, now: now))
        } catch {
            return .failure(error)
        }
    }

    private func refusal(_ error: any Error) -> ProblemError {
        logger.info("partner token rejected", metadata: ["auth.reason": "\(error)"])
        return ProblemError.unauthorized(tokenPresented: true)
    }

    // MARK: - Published keys

    /// `{"keys": [...]}`: the public JWKs of the active key and of retired keys with live tokens.
    func publishedKeySet() async throws -> JSONValue {
        _ = try await verifier()
        return .object(["keys": .array(state.withLock { $0.publishedKeys })])
    }

    private func verifier(refresh: Bool = false) async throws -> JWTVerifier {
        let now = ContinuousClock.now
        if !refresh,
            let cached = state.withLock({ state -> JWTVerifier? in
                guard let refreshedAt = state.refreshedAt, now - refreshedAt < Self.refreshInterval else { return nil }
                return state.verifier
            })
        {
            return cached
        }
        let texts = try await signingKeys.store.published(at: Date())
        var documents: [JSONValue] = []
        var keys: [JSONWebKey] = []
        for text in texts {
            guard let object = try? JSONCoding.decode(Array(text.utf8)).objectValue,
                let key = try? JSONWebKey(json: object)
            else {
                logger.error("stored signing key unusable")
                continue
            }
            documents.append(.object(object))
            keys.append(key)
        }
        let verifier = JWTVerifier(
            keySet: JSONWebKeySet(keys: keys),
            configuration: JWTVerifierConfiguration(issuer: issuer, audience: audience)
        )
        state.withLock { state in
            state.verifier = verifier
            state.publishedKeys = documents
            state.refreshedAt = now
        }
        return verifier
    }

    /// Whether an unknown `kid` may trigger a catalog read now (bounded, so
    /// forged tokens cannot turn into a query each).
    private func refreshAllowed() -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let refreshedAt = state.refreshedAt else { return true }
            return now - refreshedAt >= Self.unknownKeyCooldown
        }
    }
}
