internal import COpenSSL
import Synchronization

/// Verification contexts (`EVP_PKEY_CTX`) of one key for one algorithm, set up
/// once and reused: OpenSSL allows any number of `EVP_PKEY_verify` calls after
/// one `EVP_PKEY_verify_init`, so a verification pays no provider fetch and no
/// context set-up, only the hash and the signature check. A context serves one
/// caller at a time: the pool hands each out exclusively and keeps at most
/// `maximumIdle` of them.
final class VerifyContextPool: Sendable {
    private let key: EVPKey
    private let algorithm: JWSAlgorithm
    private let idle = Mutex<[ContextPointer]>([])

    static let maximumIdle = 16

    /// An `EVP_PKEY_CTX *` owned by the pool; only one caller uses it at a time.
    private struct ContextPointer: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// For RS*, PS* and ES* (EdDSA has no separate hash and goes through `EVP_DigestVerify`).
    init(key: EVPKey, algorithm: JWSAlgorithm) {
        self.key = key
        self.algorithm = algorithm
    }

    deinit {
        for context in idle.withLock({ $0 }) { EVP_PKEY_CTX_free(context.pointer) }
    }

    /// Hashes `message` with the algorithm's hash and checks `signature`
    /// (DER for ECDSA) over the digest.
    func verify(signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) throws(JWTError) -> Bool {
        guard let hash = algorithm.hash else { throw .unsupportedAlgorithm }
        var digest = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let hashed = digest.withUnsafeMutableBufferPointer { output in
            EVP_Digest(message.baseAddress, message.count, output.baseAddress, &length, hash.md, nil)
        }
        guard hashed == 1, Int(length) == hash.outputLength else { throw EVPKey.failure("EVP_Digest") }
        let context = try take()
        defer { give(context) }
        let status = digest.withUnsafeBufferPointer { digestBuffer in
            EVP_PKEY_verify(
                context.pointer, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                digestBuffer.baseAddress, Int(length))
        }
        guard status == 1 else {
            ERR_clear_error()
            return false
        }
        return true
    }

    private func take() throws(JWTError) -> ContextPointer {
        if let context = idle.withLock({ $0.popLast() }) { return context }
        guard let pointer = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            throw EVPKey.failure("EVP_PKEY_CTX_new_from_pkey")
        }
        do throws(JWTError) {
            guard EVP_PKEY_verify_init(pointer) == 1 else { throw EVPKey.failure("EVP_PKEY_verify_init") }
            if algorithm.isRSA {
                try EVPKey.configureRSA(pointer, hash: algorithm.hash, pss: algorithm.isPSS)
            }
            guard EVP_PKEY_CTX_set_signature_md(pointer, algorithm.hash?.md) == 1 else {
                throw EVPKey.failure("EVP_PKEY_CTX_set_signature_md")
            }
        } catch {
            EVP_PKEY_CTX_free(pointer)
            throw error
        }
        return ContextPointer(pointer: pointer)
    }

    private func give(_ context: ContextPointer) {
        let kept = idle.withLock { idle in
            guard idle.count < Self.maximumIdle else { return false }
            idle.append(context)
            return true
        }
        if !kept { EVP_PKEY_CTX_free(context.pointer) }
    }
}
