import Foundation
import JWT
import Testing

/// Wycheproof JWS vectors (C2SP/wycheproof `json_web_signature_test.json`).
///
/// Every group whose algorithm we support is run through the signature-only
/// entry point (`verifySignature`: size, serialization, header rules, key
/// selection and signature, no claim rules since the payloads are not JWT
/// claims). Valid cases must verify, invalid ones must be rejected.
@Suite struct WycheproofTests {
    /// Where `shared/` lives: `PROVISIONER_SHARED_DIR`, else beside the
    /// repository root (three levels above this file, symlinks resolved).
    static func sharedDirectory(filePath: String = #filePath) -> URL {
        if let override = ProcessInfo.processInfo.environment["PROVISIONER_SHARED_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let testsDirectory = URL(fileURLWithPath: filePath).deletingLastPathComponent().resolvingSymlinksInPath()
        let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static func vectors(_ name: String) throws -> [String: JSONValue] {
        let url = sharedDirectory().appendingPathComponent("testdata/wycheproof/\(name)")
        let data = try Data(contentsOf: url)
        return try #require(try JSONCoding.decode([UInt8](data)).objectValue)
    }

    /// Cases whose expected result contradicts this module's documented
    /// policy or is a defect of the vector file. Each is still checked: the
    /// value is the outcome we assert instead.
    static let exclusions: [Int: (reason: String, expected: JWTError?)] = [
        // Byte-identical to tcId 357 (valid): the padding the name refers to
        // was lost from the vector, so "invalid" cannot hold for any verifier.
        367: ("defective vector: identical to valid tcId 357", nil),
        370: ("defective vector: identical to valid tcId 357", nil),
        // A '?' inside the base64url text: RFC 7515 section 2 base64url has no
        // such character; strict decoding refuses it (the vector accepts lenient decoders).
        372: ("strict base64url refuses '?' (vector marked valid)", .malformed),
        373: ("strict base64url refuses '?' (vector marked valid)", .malformed),
        // RFC 7520 figure 20: the key's "alg" is PS256 but the token is PS384;
        // one algorithm per key means the key does not allow PS384.
        346: ("key alg PS256, token alg PS384: one algorithm per key", .algorithmKeyMismatch),
        350: ("key alg PS256, token alg PS384: one algorithm per key", .algorithmKeyMismatch),
    ]

    struct Tally: CustomStringConvertible {
        var validVerified = 0
        var invalidRejected = 0
        var mismatches: [String] = []
        var excluded: [String] = []
        var skippedGroups: [String] = []
        var skippedCases = 0
        var description: String {
            "Wycheproof JWS: \(validVerified) valid verified, \(invalidRejected) invalid rejected, "
                + "\(mismatches.count) mismatches, \(excluded.count) excluded cases, "
                + "\(skippedGroups.count) skipped groups (\(skippedCases) cases)"
        }
    }

    @Test func jsonWebSignatureVectors() throws {
        let document = try Self.vectors("json_web_signature_test.json")
        let groups = try #require(document["testGroups"]?.arrayValue)
        var tally = Tally()
        var seen = 0
        for (groupIndex, groupValue) in groups.enumerated() {
            let group = try #require(groupValue.objectValue)
            let tests = try #require(group["tests"]?.arrayValue)
            seen += tests.count
            let comment = group["comment"]?.stringValue ?? "?"
            let publicKey = group["public"]?.objectValue
            let privateKey = group["private"]?.objectValue

            // Groups whose key uses an algorithm outside JWSAlgorithm are skipped.
            let keyAlgorithm = publicKey?["alg"]?.stringValue ?? privateKey?["alg"]?.stringValue
            if let keyAlgorithm, JWSAlgorithm(rawValue: keyAlgorithm) == nil {
                tally.skippedGroups.append("group \(groupIndex) (\(comment)): \(keyAlgorithm) is not supported")
                tally.skippedCases += tests.count
                continue
            }

            var keys: [JSONWebKey] = []
            var hmacSecret: [UInt8]?
            var keyRefusal: JWTError?
            if let publicKey {
                do {
                    keys = [try JSONWebKey(json: publicKey)]
                } catch {
                    keyRefusal = error  // e.g. use "enc" or key_ops without "verify": every case must fail
                }
            } else if let privateKey, privateKey["kty"] == "oct", let k = privateKey["k"]?.stringValue {
                hmacSecret = try Base64URL.decode(k)  // an HS256 group: the configured secret
            } else {
                tally.skippedGroups.append("group \(groupIndex) (\(comment)): no usable key")
                tally.skippedCases += tests.count
                continue
            }
            let verifier = JWTVerifier(
                keySet: JSONWebKeySet(keys: keys),
                configuration: JWTVerifierConfiguration(issuer: "unused", audience: "unused", hmacSecret: hmacSecret))

            for testValue in tests {
                let test = try #require(testValue.objectValue)
                let id = Int(test["tcId"]?.doubleValue ?? -1)
                let result = test["result"]?.stringValue
                let label = "tcId \(id) \(test["comment"]?.stringValue ?? "")"
                // tcId 17 is a JSON-serialized JWS (an object, not a string); it is
                // expected invalid and the compact-only verifier refuses its text.
                let jws = test["jws"]?.stringValue ?? String(decoding: JSONCoding.encode(test["jws"] ?? .null), as: UTF8.self)
                let outcome: Result<Void, JWTError> = Result { () throws(JWTError) in
                    if let keyRefusal { throw keyRefusal }
                    _ = try verifier.verifySignature(jws)
                }

                if let exclusion = Self.exclusions[id] {
                    tally.excluded.append("\(label): \(exclusion.reason)")
                    switch (outcome, exclusion.expected) {
                    case (.success, nil): break
                    case (.failure(let error), let expected?) where error == expected: break
                    default: tally.mismatches.append("\(label): excluded case did not behave as documented: \(outcome)")
                    }
                    continue
                }
                switch (result, outcome) {
                case ("valid", .success): tally.validVerified += 1
                case ("invalid", .failure): tally.invalidRejected += 1
                case ("valid", .failure(let error)): tally.mismatches.append("\(label): valid case rejected: \(error)")
                case ("invalid", .success): tally.mismatches.append("\(label): invalid case accepted")
                default: tally.mismatches.append("\(label): unexpected result \(result ?? "nil")")
                }
            }
        }
        print(tally)
        for group in tally.skippedGroups { print("  skipped \(group)") }
        for excluded in tally.excluded { print("  excluded \(excluded)") }
        #expect(seen == Int(document["numberOfTests"]?.doubleValue ?? 0))
        #expect(tally.mismatches == [])
        #expect(tally.validVerified + tally.invalidRejected + tally.excluded.count + tally.skippedCases == seen)
        #expect(tally.validVerified >= 30)
        #expect(tally.invalidRejected >= 300)
    }

    /// The JWK vectors hold key sets with private members; their public
    /// halves must be refused where the vector says the key is bad.
    @Test func jsonWebKeyVectorsRefuseBadPublicKeys() throws {
        let document = try Self.vectors("json_web_key_test.json")
        let groups = try #require(document["testGroups"]?.arrayValue)
        let refused: Set<String> = [
            "keysize_too_small", "exponentOne", "wrong_algorithm", "invalid_algorithm", "invalid_use", "invalid_point",
            "wrong_curve", "wrong_kty", "invalid_aes_gcm_key", "invalid_aes_kw_key", "HS256", "HS384", "HS512",
        ]
        var checked = 0
        for groupValue in groups {
            let group = try #require(groupValue.objectValue)
            let comment = group["comment"]?.stringValue ?? ""
            guard refused.contains(comment) else { continue }
            let keys = try #require(group["private"]?.objectValue?["keys"]?.arrayValue)
            for key in keys {
                var jwk = try #require(key.objectValue)
                // With the private members the key is refused anyway; strip them
                // so the refusal must come from the public part.
                #expect(throws: JWTError.self) { try JSONWebKey(json: jwk) }
                for member in ["d", "p", "q", "dp", "dq", "qi"] { jwk[member] = nil }
                #expect(throws: JWTError.self, "\(comment)") { try JSONWebKey(json: jwk) }
                checked += 1
            }
        }
        #expect(checked >= 13)
    }
}
