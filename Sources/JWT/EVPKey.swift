internal import COpenSSL

/// Owns one OpenSSL `EVP_PKEY`, freed in `deinit`.
///
/// The key is never mutated after construction. OpenSSL 3 allows concurrent
/// sign/verify operations on one `EVP_PKEY` as long as each operation has its
/// own `EVP_MD_CTX`, which every method here creates and frees locally.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Size in bits (RSA modulus, EC group order, 253 for Ed25519).
    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// Maximum signature size in bytes (the modulus length for RSA).
    var size: Int { Int(EVP_PKEY_get_size(pointer)) }

    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(pointer, name) == 1 }

    // MARK: construction

    /// Builds a public key with `EVP_PKEY_fromdata` and validates it with
    /// `EVP_PKEY_public_check` (point on curve, RSA sanity checks).
    static func publicKey(type: String, parameters: [KeyParameter]) throws(JWTError) -> EVPKey {
        let builder = ParameterBuilder()
        for parameter in parameters {
            try builder.push(parameter)
        }
        guard let params = OSSL_PARAM_BLD_to_param(builder.pointer) else {
            throw failure("OSSL_PARAM_BLD_to_param")
        }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw failure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_fromdata_init(context) == 1 else { throw failure("EVP_PKEY_fromdata_init") }
        var created: OpaquePointer?
        guard EVP_PKEY_fromdata(context, &created, copenssl_EVP_PKEY_PUBLIC_KEY(), params) == 1,
            let created
        else {
            ERR_clear_error()
            throw .invalidKey("rejected by OpenSSL")
        }
        let key = EVPKey(taking: created)
        guard let checkContext = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            throw failure("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(checkContext) }
        guard EVP_PKEY_public_check(checkContext) == 1 else {
            ERR_clear_error()
            throw .invalidKey("public key check failed")
        }
        return key
    }

    /// Generates a private key: `type` is "RSA", "EC" or "ED25519".
    static func generate(type: String, ecGroup: String? = nil, rsaBits: Int32? = nil) throws(JWTError) -> EVPKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw failure("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw failure("EVP_PKEY_keygen_init") }
        if let ecGroup {
            guard EVP_PKEY_CTX_set_group_name(context, ecGroup) == 1 else {
                throw failure("EVP_PKEY_CTX_set_group_name")
            }
        }
        if let rsaBits {
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, rsaBits) == 1 else {
                throw failure("EVP_PKEY_CTX_set_rsa_keygen_bits")
            }
        }
        var created: OpaquePointer?
        guard EVP_PKEY_generate(context, &created) == 1, let created else { throw failure("EVP_PKEY_generate") }
        return EVPKey(taking: created)
    }

    /// Reads a private key from PEM (PKCS#8; traditional formats are read too).
    /// Encrypted PEM is refused: the password callback always declines.
    static func privateKey(pem: String) throws(JWTError) -> EVPKey {
        let bytes = Array(pem.utf8)
        guard !bytes.isEmpty, bytes.count < 1 << 20 else { throw .invalidKey("empty or oversized PEM") }
        let key: OpaquePointer? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let key else {
            ERR_clear_error()
            throw .invalidKey("unreadable private key PEM")
        }
        return EVPKey(taking: key)
    }

    // MARK: export

    /// PKCS#8 PEM ("BEGIN PRIVATE KEY").
    func privateKeyPEM() throws(JWTError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Self.failure("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PKCS8PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw Self.failure("PEM_write_bio_PKCS8PrivateKey")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = copenssl_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { throw Self.failure("BIO_get_mem_data") }
        let raw = UnsafeRawBufferPointer(start: data, count: Int(length))
        return String(decoding: raw, as: UTF8.self)
    }

    /// A big-number parameter as unsigned big-endian bytes ("n", "e").
    func bigNumberParameter(_ name: String) throws(JWTError) -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pointer, name, &number) == 1, let number else {
            throw Self.failure("EVP_PKEY_get_bn_param")
        }
        defer { BN_free(number) }
        let count = (Int(BN_num_bits(number)) + 7) / 8
        var bytes = [UInt8](repeating: 0, count: count)
        let written = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(number, $0.baseAddress) }
        guard Int(written) == count else { throw Self.failure("BN_bn2bin") }
        return bytes
    }

    /// An octet-string parameter ("encoded-pub-key").
    func octetParameter(_ name: String, maximumLength: Int) throws(JWTError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maximumLength)
        var length = 0
        let status = bytes.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_octet_string_param(pointer, name, $0.baseAddress, $0.count, &length)
        }
        guard status == 1, length <= maximumLength else { throw Self.failure("EVP_PKEY_get_octet_string_param") }
        return Array(bytes.prefix(length))
    }

    func groupName() throws(JWTError) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        let status = buffer.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_group_name(pointer, $0.baseAddress, $0.count, &length)
        }
        guard status == 1, length < buffer.count else { throw Self.failure("EVP_PKEY_get_group_name") }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func rawPublicKey() throws(JWTError) -> [UInt8] {
        var length = 0
        guard EVP_PKEY_get_raw_public_key(pointer, nil, &length) == 1, length > 0, length <= 1024 else {
            throw Self.failure("EVP_PKEY_get_raw_public_key")
        }
        var bytes = [UInt8](repeating: 0, count: length)
        let status = bytes.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_raw_public_key(pointer, $0.baseAddress, &length)
        }
        guard status == 1 else { throw Self.failure("EVP_PKEY_get_raw_public_key") }
        return Array(bytes.prefix(length))
    }

    // MARK: operations

    /// `EVP_DigestVerify`; `hash` nil for Ed25519. Returns false for a
    /// signature that does not verify; throws only when OpenSSL cannot run.
    func verify(
        signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, hash: HashFunction?, pss: Bool,
        rsa: Bool
    ) throws(JWTError) -> Bool {
        guard let context = EVP_MD_CTX_new() else { throw Self.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestVerifyInit(context, &keyContext, hash?.md, nil, pointer) == 1 else {
            throw Self.failure("EVP_DigestVerifyInit")
        }
        if rsa {
            try Self.configureRSA(keyContext, hash: hash, pss: pss)
        }
        let status = EVP_DigestVerify(
            context, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        guard status == 1 else {
            ERR_clear_error()
            return false
        }
        return true
    }

    /// `EVP_DigestSign`; ECDSA output is DER as OpenSSL produces it.
    func sign(message: [UInt8], hash: HashFunction?, pss: Bool, rsa: Bool) throws(JWTError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw Self.failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        guard EVP_DigestSignInit(context, &keyContext, hash?.md, nil, pointer) == 1 else {
            throw Self.failure("EVP_DigestSignInit")
        }
        if rsa {
            try Self.configureRSA(keyContext, hash: hash, pss: pss)
        }
        var length = 0
        let sizing = message.withUnsafeBufferPointer {
            EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count)
        }
        guard sizing == 1, length > 0 else { throw Self.failure("EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        let status = message.withUnsafeBufferPointer { messageBuffer in
            signature.withUnsafeMutableBufferPointer { signatureBuffer in
                EVP_DigestSign(
                    context, signatureBuffer.baseAddress, &length, messageBuffer.baseAddress, messageBuffer.count)
            }
        }
        guard status == 1, length <= signature.count else { throw Self.failure("EVP_DigestSign") }
        return Array(signature.prefix(length))
    }

    static func configureRSA(_ keyContext: OpaquePointer?, hash: HashFunction?, pss: Bool) throws(JWTError) {
        guard let keyContext else { throw failure("EVP_DigestVerifyInit") }
        if pss {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, copenssl_RSA_PKCS1_PSS_PADDING()) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, copenssl_RSA_PSS_SALTLEN_DIGEST()) == 1,
                EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, hash?.md) == 1
            else { throw failure("EVP_PKEY_CTX_set_rsa_pss") }
        } else {
            guard EVP_PKEY_CTX_set_rsa_padding(keyContext, copenssl_RSA_PKCS1_PADDING()) == 1 else {
                throw failure("EVP_PKEY_CTX_set_rsa_padding")
            }
        }
    }

    /// Clears OpenSSL's thread-local error queue and names the failed call.
    static func failure(_ call: String) -> JWTError {
        ERR_clear_error()
        return .opensslFailure(call)
    }
}

/// HMAC-SHA256 with a constant-time comparison.
enum HMACSHA256 {
    static func authenticate(key: [UInt8], message: UnsafeRawBufferPointer) throws(JWTError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                HMAC(
                    HashFunction.sha256.md, keyBuffer.baseAddress, Int32(keyBuffer.count),
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                    outputBuffer.baseAddress, &length)
            }
        }
        guard result != nil, length == 32 else { throw EVPKey.failure("HMAC") }
        return Array(output.prefix(32))
    }

    static func verify(key: [UInt8], message: UnsafeRawBufferPointer, tag: [UInt8]) throws(JWTError) -> Bool {
        let expected = try authenticate(key: key, message: message)
        guard tag.count == expected.count else { return false }
        let difference = expected.withUnsafeBytes { expectedBuffer in
            tag.withUnsafeBytes { tagBuffer in
                CRYPTO_memcmp(expectedBuffer.baseAddress, tagBuffer.baseAddress, expectedBuffer.count)
            }
        }
        return difference == 0
    }
}

/// One `OSSL_PARAM` to build a key from.
enum KeyParameter {
    case bigNumber(String, [UInt8])
    case octets(String, [UInt8])
    case text(String, String)
}

/// Wraps `OSSL_PARAM_BLD`. The builder keeps pointers to pushed strings,
/// octets and BIGNUMs until `OSSL_PARAM_BLD_to_param`, so this class owns
/// copies of them and releases everything in `deinit`.
private final class ParameterBuilder {
    let pointer: OpaquePointer?
    private var bigNumbers: [OpaquePointer] = []
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    init() {
        pointer = OSSL_PARAM_BLD_new()
    }

    deinit {
        for number in bigNumbers { BN_free(number) }
        for buffer in buffers { buffer.deallocate() }
        if let pointer { OSSL_PARAM_BLD_free(pointer) }
    }

    /// A NUL-terminated copy of `text` that lives as long as the builder.
    private func name(_ text: String) throws(JWTError) -> UnsafePointer<CChar> {
        let bytes = text.utf8CString.map { UInt8(bitPattern: $0) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        buffer.copyBytes(from: bytes)
        buffers.append(buffer)
        guard let base = buffer.baseAddress else { throw .invalidKey("empty parameter name") }
        return UnsafePointer(base.assumingMemoryBound(to: CChar.self))
    }

    func push(_ parameter: KeyParameter) throws(JWTError) {
        guard let pointer else { throw EVPKey.failure("OSSL_PARAM_BLD_new") }
        switch parameter {
        case .bigNumber(let key, let bytes):
            let number = bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
            guard let number else { throw EVPKey.failure("BN_bin2bn") }
            bigNumbers.append(number)
            guard OSSL_PARAM_BLD_push_BN(pointer, try name(key), number) == 1 else {
                throw EVPKey.failure("OSSL_PARAM_BLD_push_BN")
            }
        case .octets(let key, let bytes):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            buffers.append(buffer)
            guard OSSL_PARAM_BLD_push_octet_string(pointer, try name(key), buffer.baseAddress, bytes.count) == 1 else {
                throw EVPKey.failure("OSSL_PARAM_BLD_push_octet_string")
            }
        case .text(let key, let value):
            let valuePointer = try name(value)
            guard OSSL_PARAM_BLD_push_utf8_string(pointer, try name(key), valuePointer, 0) == 1 else {
                throw EVPKey.failure("OSSL_PARAM_BLD_push_utf8_string")
            }
        }
    }
}

extension ECCurve {
    /// Converts OpenSSL's DER `ECDSA-Sig-Value` into JOSE `r || s`, each
    /// left-padded to the coordinate length.
    func joseSignature(fromDER der: [UInt8]) throws(JWTError) -> [UInt8] {
        let width = coordinateLength
        var output = [UInt8](repeating: 0, count: 2 * width)
        let parsed: Bool = der.withUnsafeBufferPointer { derBuffer in
            var cursor: UnsafePointer<UInt8>? = derBuffer.baseAddress
            guard let signature = d2i_ECDSA_SIG(nil, &cursor, derBuffer.count) else { return false }
            defer { ECDSA_SIG_free(signature) }
            guard let r = ECDSA_SIG_get0_r(signature), let s = ECDSA_SIG_get0_s(signature) else { return false }
            return output.withUnsafeMutableBufferPointer { outputBuffer in
                guard let base = outputBuffer.baseAddress else { return false }
                return BN_bn2binpad(r, base, Int32(width)) == Int32(width)
                    && BN_bn2binpad(s, base + width, Int32(width)) == Int32(width)
            }
        }
        guard parsed else { throw EVPKey.failure("d2i_ECDSA_SIG") }
        return output
    }
}
