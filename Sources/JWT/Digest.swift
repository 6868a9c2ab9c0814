internal import COpenSSL

/// Message digests through OpenSSL's EVP interface.
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes; empty only if OpenSSL could not run).
    public static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        // Contiguous input (arrays, UTF-8 views of native strings) is hashed in place: copying it
        // through the generic Sequence interface costs more than the digest itself.
        if let digest = bytes.withContiguousStorageIfAvailable({ sha256(buffer: $0) }) {
            return digest
        }
        return Array(bytes).withUnsafeBufferPointer { sha256(buffer: $0) }
    }

    private static func sha256(buffer inputBuffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = output.withUnsafeMutableBufferPointer { outputBuffer in
            EVP_Digest(
                inputBuffer.baseAddress, inputBuffer.count, outputBuffer.baseAddress, &length, HashFunction.sha256.md, nil)
        }
        // EVP_Digest with SHA-256 fails only when memory is exhausted. The API
        // has no error channel, so failure returns an empty array, which can
        // never equal a real digest (a zero-filled one could).
        guard status == 1, length == 32 else {
            ERR_clear_error()
            return []
        }
        return output
    }

    /// Lowercase hexadecimal SHA-256 of `bytes` (64 characters; empty only if OpenSSL could not run).
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        Hex.encode(sha256(bytes))
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        while true {
            let status = output.withUnsafeMutableBufferPointer { buffer in
                RAND_bytes(buffer.baseAddress, Int32(buffer.count))
            }
            if status == 1 { return output }
            // RAND_bytes only fails when the DRBG cannot be seeded; returning
            // predictable bytes would be worse than waiting for entropy.
            ERR_clear_error()
        }
    }
}
