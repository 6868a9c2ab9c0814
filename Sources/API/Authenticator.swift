public import Foundation
public import JWT
public import Logging
import Synchronization

/// Turns bearer tokens into principals, remembering verified tokens until they
/// expire so a repeat caller pays no signature verification.
///
/// Tokens whose `iss` is Provisioner's own go to `partnerTokens`, which checks
/// revocation against the catalog on every request, cached or not.
///
/// The cache is keyed by the SHA-256 of the token (never the token itself),
/// holds at most `cacheLimit` entries (0 turns it off), never answers past a
/// token's `exp`, and `forget(jwtID:)` drops a revoked token at once.
public final class Authenticator: Sendable {
    private let verifier: JWTVerifier
    private let partnerTokens: PartnerTokenAuthority?
    private let cache: Mutex<[[UInt8]: CachedPrincipal]>
    private let cacheLimit: Int
    private let logger: Logger

    struct CachedPrincipal {
        var principal: Principal
        var expiresAt: Date
        var jwtID: String?
    }

    public init(
        verifier: JWTVerifier, partnerTokens: PartnerTokenAuthority? = nil, cacheLimit: Int = 10_000, logger: Logger
    ) {
        self.verifier = verifier
        self.partnerTokens = partnerTokens
        self.cache = Mutex([:])
        self.cacheLimit = cacheLimit
        self.logger = logger
    }

    /// The principal of an `Authorization` header value; 401 problem when absent or invalid.
    public func authenticate(authorization: String?, now: Date = Date()) async throws -> Principal {
        guard let authorization else { throw ProblemError.unauthorized(tokenPresented: false) }
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw ProblemError.unauthorized(tokenPresented: true)
        }
        let token = authorization.dropFirst(7).trimmingASCIISpaces()
        let key = Digest.sha256(token.utf8)
        if let cached = cache.withLock({ $0[key] }), cached.expiresAt > now {
            if let partnerTokens, let tokenID = cached.principal.partnerTokenID {
                try await partnerTokens.requireActive(tokenID: tokenID)
            }
            return cached.principal
        }
        if let partnerTokens, partnerTokens.claimsToBeIssued(token) {
            let (principal, expiresAt) = try await partnerTokens.authenticate(token, now: now)
            remember(
                key, CachedPrincipal(principal: principal, expiresAt: expiresAt, jwtID: principal.partnerTokenID), now: now
            )
            return principal
        }
        let verified: VerifiedJWT
        do {
            verified = try await verifier.verifyRefreshingKeys(token, now: now)
        } catch {
            logger.info("token rejected", metadata: ["auth.reason": "\(error)"])
            throw ProblemError.unauthorized(tokenPresented: true)
        }
        let principal = Principal(
            issuer: verified.issuer,
            subject: verified.subject,
            roles: Set((verified.stringArray("roles") ?? []).compactMap(Role.init(rawValue:))),
            organization: verified.string("org"),
            scope: verified.string("scope"),
            tenants: verified.stringArray("tenants")
        )
        remember(
            key, CachedPrincipal(principal: principal, expiresAt: verified.expiresAt, jwtID: verified.jwtID), now: now)
        return principal
    }

    /// Drops every cached token with this `jti` (revocation): the next request
    /// carrying it is verified again, and refused if its revocation says so.
    public func forget(jwtID: String) {
        cache.withLock { cache in cache = cache.filter { $0.value.jwtID != jwtID } }
    }

    /// Drops every cached token.
    public func forgetAll() {
        cache.withLock { $0.removeAll() }
    }

    /// How many verified tokens are cached now.
    public var cachedCount: Int { cache.withLock { $0.count } }

    private func remember(_ key: [UInt8], _ entry: CachedPrincipal, now: Date) {
        guard cacheLimit > 0 else { return }
        cache.withLock { cache in
            if cache.count >= cacheLimit {
                cache = cache.filter { $0.value.expiresAt > now }
                if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            }
            cache[key] = entry
        }
    }
}
