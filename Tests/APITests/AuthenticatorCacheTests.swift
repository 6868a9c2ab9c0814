import Foundation
import JWT
import Testing

@testable import API

/// The verified-token cache: a repeat token costs no verification, never
/// outlives `exp`, stays bounded, and `forget(jwtID:)` drops a revoked token.
@Suite(.timeLimit(.minutes(3))) struct AuthenticatorCacheTests {
    let key: JWTSigningKey
    let verifier: JWTVerifier

    init() throws {
        key = try JWTSigningKey.generate(.ES256, keyID: "cache-key")
        verifier = JWTVerifier(
            keySet: JSONWebKeySet(keys: [key.verificationKey]), configuration: KeySetURLTests.configuration)
    }

    func token(jti: String, expiresIn seconds: Double = 600) throws -> String {
        let now = Date().timeIntervalSince1970.rounded(.down)
        return try key.sign(claims: KeySetURLTests.claims(["jti": .string(jti), "exp": .number(now + seconds)]))
    }

    @Test func cachedTokensSkipVerificationUntilExpiry() async throws {
        let authenticator = Authenticator(verifier: verifier, logger: TestHarness.logger)
        let token = try token(jti: "a", expiresIn: 30)
        let principal = try await authenticator.authenticate(authorization: "Bearer " + token)
        #expect(principal.subject == "user-1")
        #expect(authenticator.cachedCount == 1)
        // Still cached a little later; refused (verified again) past exp even within the verifier's leeway.
        _ = try await authenticator.authenticate(authorization: "Bearer " + token, now: Date().addingTimeInterval(20))
        await #expect(throws: ProblemError.self) {
            try await authenticator.authenticate(authorization: "Bearer " + token, now: Date().addingTimeInterval(95))
        }
    }

    @Test func forgetDropsRevokedTokens() async throws {
        let authenticator = Authenticator(verifier: verifier, logger: TestHarness.logger)
        let revoked = try token(jti: "revoked")
        let kept = try token(jti: "kept")
        _ = try await authenticator.authenticate(authorization: "Bearer " + revoked)
        _ = try await authenticator.authenticate(authorization: "Bearer " + kept)
        #expect(authenticator.cachedCount == 2)
        authenticator.forget(jwtID: "revoked")
        #expect(authenticator.cachedCount == 1)
        authenticator.forgetAll()
        #expect(authenticator.cachedCount == 0)
    }

    @Test func cacheIsBoundedAndCanBeTurnedOff() async throws {
        let bounded = Authenticator(verifier: verifier, cacheLimit: 5, logger: TestHarness.logger)
        let off = Authenticator(verifier: verifier, cacheLimit: 0, logger: TestHarness.logger)
        for index in 0..<12 {
            let token = try token(jti: "t\(index)")
            _ = try await bounded.authenticate(authorization: "Bearer " + token)
            _ = try await off.authenticate(authorization: "Bearer " + token)
            #expect(bounded.cachedCount <= 5)
        }
        #expect(off.cachedCount == 0)
    }
}
