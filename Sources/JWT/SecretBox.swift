internal import COpenSSL

/// Secrets at rest: AES-256-GCM under a 32-byte master key.
///
/// Sealed form: `0x01 || nonce (12 bytes, random) || ciphertext || tag (16 bytes)`.
/// The version byte is authenticated as associated data, so a future format
/// cannot be confused with this one.
public struct SecretBox: Sendable {
    private let key: [UInt8]
    static let version: UInt8 = 1
    static let nonceLength = 12
    static let tagLength = 16

    public init(key: [UInt8]) throws(JWTError) {
        guard key.count == 32 else { throw .invalidKey("the master key must be 32 bytes") }
        self.key = key
    }

    public func seal(_ plaintext: [UInt8]) throws(JWTError) -> [UInt8] {
        let nonce = SecureRandom.bytes(Self.nonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { throw .opensslFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        var written: Int32 = 0
        var finalLength: Int32 = 0
        let aad = [Self.version]
        let ok =
            EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1
            && EVP_EncryptInit_ex(context, nil, nil, key, nonce) == 1
            && Self.update(context, output: nil, input: aad, written: &written, encrypt: true)
            && ciphertext.withUnsafeMutableBufferPointer { out in
                Self.update(context, output: out.baseAddress, input: plaintext, written: &written, encrypt: true)
            }
            && ciphertext.withUnsafeMutableBufferPointer { out in
                EVP_EncryptFinal_ex(context, out.baseAddress.map { $0 + Int(written) }, &finalLength) == 1
            }
            && tag.withUnsafeMutableBytes { buffer in
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagLength), buffer.baseAddress) == 1
            }
        guard ok else {
            ERR_clear_error()
            throw .opensslFailure("AES-256-GCM encrypt")
        }
        return [Self.version] + nonce + ciphertext.prefix(Int(written + finalLength)) + tag
    }

    public func open(_ sealed: [UInt8]) throws(JWTError) -> [UInt8] {
        guard sealed.count >= 1 + Self.nonceLength + Self.tagLength, sealed[0] == Self.version else {
            throw .invalidKey("not a sealed secret of this format")
        }
        let nonce = Array(sealed[1..<(1 + Self.nonceLength)])
        let ciphertext = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        var tag = Array(sealed.suffix(Self.tagLength))
        guard let context = EVP_CIPHER_CTX_new() else { throw .opensslFailure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        var finalLength: Int32 = 0
        let aad = [Self.version]
        let ok =
            EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceLength), nil) == 1
            && EVP_DecryptInit_ex(context, nil, nil, key, nonce) == 1
            && Self.update(context, output: nil, input: aad, written: &written, encrypt: false)
            && plaintext.withUnsafeMutableBufferPointer { out in
                Self.update(context, output: out.baseAddress, input: ciphertext, written: &written, encrypt: false)
            }
            && tag.withUnsafeMutableBytes { buffer in
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), buffer.baseAddress) == 1
            }
            && plaintext.withUnsafeMutableBufferPointer { out in
                EVP_DecryptFinal_ex(context, out.baseAddress.map { $0 + Int(written) }, &finalLength) == 1
            }
        guard ok else {
            ERR_clear_error()
            throw .badSignature
        }
        return Array(plaintext.prefix(Int(written + finalLength)))
    }

    /// One EVP update step; a `nil` output feeds associated data.
    private static func update(
        _ context: OpaquePointer, output: UnsafeMutablePointer<UInt8>?, input: [UInt8], written: inout Int32,
        encrypt: Bool
    ) -> Bool {
        var length: Int32 = 0
        let status = input.withUnsafeBufferPointer { buffer in
            encrypt
                ? EVP_EncryptUpdate(context, output, &length, buffer.baseAddress, Int32(buffer.count))
                : EVP_DecryptUpdate(context, output, &length, buffer.baseAddress, Int32(buffer.count))
        }
        if output != nil { written = length }
        return status == 1
    }
}
