internal import COpenSSL

/// The digests used by JWS, fetched once from the default provider so the
/// verify path does not repeat the implicit fetch of `EVP_sha256()` & co.
struct HashFunction: @unchecked Sendable {
    // Safety: an EVP_MD is immutable once fetched and may be shared by threads.
    let md: OpaquePointer?
    let outputLength: Int

    private init(name: String, fallback: OpaquePointer?, outputLength: Int) {
        self.md = EVP_MD_fetch(nil, name, nil) ?? fallback
        self.outputLength = outputLength
        ERR_clear_error()
    }

    static let sha256 = HashFunction(name: "SHA2-256", fallback: EVP_sha256(), outputLength: 32)
    static let sha384 = HashFunction(name: "SHA2-384", fallback: EVP_sha384(), outputLength: 48)
    static let sha512 = HashFunction(name: "SHA2-512", fallback: EVP_sha512(), outputLength: 64)
}
