public import Catalog
import Foundation
public import JWT
public import Postgres

/// The life of Provisioner's own signing keys: created at first start, rotated
/// on demand, private halves sealed under the master key in the catalog.
public struct PartnerSigningKeys: Sendable {
    let store: SigningKeyStore
    let sealer: any SecretSealer

    /// ES256: small tokens, fast signatures.
    static let algorithm = JWSAlgorithm.ES256

    public init(pool: PostgresPool, sealer: any SecretSealer) {
        self.store = SigningKeyStore(pool: pool)
        self.sealer = sealer
    }

    /// The active key, created when there is none (first start). Several
    /// processes starting together end up with the same single active key.
    @discardableResult
    public func ensureActive() async throws -> SigningKeyRecord {
        if let active = try await store.active() { return active }
        return try await store.activate(ifNoneIsActive: try Self.generate(sealer: sealer))
    }

    /// Makes a new key the active one; the retired key stays published while
    /// tokens it signed are unexpired. Records a `signing-key.rotate` audit
    /// event by `audit`'s actor with the change. Returns the new and the retired `kid`.
    public func rotate(audit: AuditContext) async throws -> (active: String, retired: String?) {
        let record = try Self.generate(sealer: sealer)
        let retired = try await store.rotate(to: record, audit: audit)
        return (record.keyID, retired)
    }

    /// The private key of `record`, unsealed.
    func unseal(_ record: SigningKeyRecord) throws -> JWTSigningKey {
        guard let algorithm = JWSAlgorithm(rawValue: record.algorithm) else { throw JWTError.unsupportedAlgorithm }
        let pem = String(decoding: try sealer.open(record.privateKeySealed), as: UTF8.self)
        return try JWTSigningKey(pem: pem, algorithm: algorithm, keyID: record.keyID)
    }

    /// A fresh key pair, its private half sealed.
    static func generate(sealer: any SecretSealer) throws -> SigningKeyRecord {
        let keyID = "pt-" + Base64URL.encode(SecureRandom.bytes(12))
        let key = try JWTSigningKey.generate(algorithm, keyID: keyID)
        return SigningKeyRecord(
            keyID: keyID, algorithm: algorithm.rawValue,
            publicJWK: String(decoding: JSONCoding.encode(.object(key.publicJWK)), as: UTF8.self),
            privateKeySealed: try sealer.seal(Array(key.privateKeyPEM.utf8))
        )
    }
}
