import API
import Foundation
import JWT
import Logging

/// The JWT verification benchmark (run by bench/jwt.sh, release build).
///
/// For ES256, RS256 and EdDSA it measures, on one thread:
///   - the verify primitive: hash of a token's signing input and the
///     signature check through OpenSSL (`JSONWebKey.verifyPrimitive`), no
///     JSON or base64url work; compared with `openssl speed`'s own verify
///     time measured in the same run (given on the command line): target <= 1.2x;
///   - whole-token verification (`JWTVerifier.verify`: size, base64url,
///     strict JSON, header rules, key choice, signature, claims), printed beside it;
/// and `Authenticator.authenticate` with the verified-token cache on and off:
/// with the cache on, a repeated token must cost less than half an ES256
/// primitive verify (so no signature is verified at all).
///
///   jwt-benchmark ES256=<verify/s> RS256=<verify/s> EdDSA=<verify/s> [--seconds S]
@main
struct JWTBenchmark {
    static let ratioTarget = 1.2
    static let cacheTarget = 0.5

    static func main() async throws {
        var seconds = 3.0
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            guard argument == "--seconds", let value = arguments.popFirst().flatMap(Double.init), value > 0 else {
                throw Usage(message: "usage: JWTBenchmark [--seconds S]")
            }
            seconds = value
        }
        print("openssl speed -seconds \(Int(seconds.rounded(.up))) ecdsap256 rsa2048 ed25519 (before) ...")
        let before = try openSSLVerifyRates(seconds: seconds)
        let now = Date()
        let claims: [String: JSONValue] = [
            "iss": "https://idp.bench", "aud": "provisioner", "sub": "bench-user", "roles": ["org-viewer"],
            "org": "bench-org", "scope": "orgs:read tenants:read", "iat": .number(now.timeIntervalSince1970.rounded(.down)),
            "exp": .number(now.timeIntervalSince1970.rounded(.down) + 3600), "jti": "bench-token-0001",
        ]
        let configuration = JWTVerifierConfiguration(issuer: "https://idp.bench", audience: "provisioner")

        var failures: [String] = []
        var rows: [Row] = []
        var es256PrimitiveMicroseconds = 0.0
        let signers: [(JWSAlgorithm, String, JWTSigningKey)] = [
            (.ES256, "ES256", try JWTSigningKey.generate(.ES256, keyID: "bench-ES256")),
            (.RS256, "RS256", try rsa2048Signer()),
            (.EdDSA, "EdDSA", try JWTSigningKey.generate(.EdDSA, keyID: "bench-EdDSA")),
        ]
        for (algorithm, openSSLName, signer) in signers {
            let publicKey = signer.verificationKey
            let token = try signer.sign(claims: claims)
            let verifier = JWTVerifier(keySet: JSONWebKeySet(keys: [publicKey]), configuration: configuration)
            let parts = token.split(separator: ".")
            let message = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
            let signature = try Base64URL.decode(parts[2])
            guard try publicKey.verifyPrimitive(algorithm: algorithm, signature: signature, message: message),
                try verifier.verify(token, now: now).subject == "bench-user"
            else { throw Usage(message: "\(algorithm.rawValue): the benchmark token does not verify") }

            let primitive = try measure(seconds: seconds) {
                _ = try publicKey.verifyPrimitive(algorithm: algorithm, signature: signature, message: message)
            }
            let whole = try measure(seconds: seconds) { _ = try verifier.verify(token, now: now) }
            if algorithm == .ES256 { es256PrimitiveMicroseconds = primitive }
            rows.append(Row(name: openSSLName, primitive: primitive, whole: whole, tokenBytes: token.utf8.count))
        }

        print("openssl speed (after) ...")
        let after = try openSSLVerifyRates(seconds: seconds)
        print("")
        print("JWT verification (release build, one thread, \(seconds) s per measurement, best of 3)")
        print("  alg     primitive us   openssl us   ratio   target <= \(ratioTarget)   whole token us   tokens/s   token bytes")
        for row in rows {
            // The faster of the two openssl runs is the baseline.
            let rate = max(before[row.name] ?? 0, after[row.name] ?? 0)
            guard rate > 0 else {
                failures.append("\(row.name): no openssl speed figure")
                continue
            }
            let openSSLMicroseconds = 1e6 / rate
            let ratio = row.primitive / openSSLMicroseconds
            let verdict = ratio <= ratioTarget ? "PASS" : "FAIL"
            if ratio > ratioTarget { failures.append("\(row.name) primitive \(format(ratio))x OpenSSL") }
            print(
                "  \(pad(row.name, 6))  \(pad(format(row.primitive), 12, right: true))  \(pad(format(openSSLMicroseconds), 11, right: true))"
                    + "  \(pad(format(ratio), 6, right: true))   \(pad(verdict, 17))  \(pad(format(row.whole), 14, right: true))"
                    + "  \(pad(format(1e6 / row.whole, digits: 0), 9, right: true))  \(pad(String(row.tokenBytes), 12, right: true))")
        }
        print(
            "  openssl verify/s before: " + rows.map { "\($0.name) \(format(before[$0.name] ?? 0, digits: 0))" }.joined(separator: ", ")
                + "; after: " + rows.map { "\($0.name) \(format(after[$0.name] ?? 0, digits: 0))" }.joined(separator: ", "))

        // The authenticator with the verified-token cache on and off, on the same ES256 token.
        let key = try JWTSigningKey.generate(.ES256, keyID: "bench-cache")
        let token = try key.sign(claims: claims)
        let verifier = JWTVerifier(keySet: JSONWebKeySet(keys: [key.verificationKey]), configuration: configuration)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let cached = Authenticator(verifier: verifier, cacheLimit: 10_000, logger: logger)
        let uncached = Authenticator(verifier: verifier, cacheLimit: 0, logger: logger)
        let header = "Bearer " + token
        let withCache = try await measureAsync(seconds: seconds) {
            _ = try await cached.authenticate(authorization: header, now: now)
        }
        let withoutCache = try await measureAsync(seconds: seconds) {
            _ = try await uncached.authenticate(authorization: header, now: now)
        }
        let cacheRatio = es256PrimitiveMicroseconds > 0 ? withCache / es256PrimitiveMicroseconds : .infinity
        let cacheVerdict = cacheRatio < cacheTarget ? "PASS" : "FAIL"
        if cacheRatio >= cacheTarget { failures.append("cached authentication costs \(format(cacheRatio)) of an ES256 verify") }
        print("")
        print("Authenticator.authenticate, same ES256 token (bearer header parsing included)")
        print("  cache on  (10000 entries): \(pad(format(withCache), 8, right: true)) us   \(format(1e6 / withCache, digits: 0)) requests/s")
        print("  cache off (0 entries):     \(pad(format(withoutCache), 8, right: true)) us   \(format(1e6 / withoutCache, digits: 0)) requests/s")
        print("  speed-up with the cache: \(format(withoutCache / withCache, digits: 1))x")
        print(
            "  target: cached cost < \(cacheTarget) x ES256 primitive verify (\(format(es256PrimitiveMicroseconds)) us), "
                + "i.e. no signature verification: \(format(cacheRatio, digits: 3))  \(cacheVerdict)")
        print("")
        if failures.isEmpty {
            print("verdict: PASS")
        } else {
            print("verdict: FAIL (\(failures.joined(separator: "; ")))")
            exit(1)
        }
    }

    struct Row {
        let name: String
        let primitive: Double
        let whole: Double
        let tokenBytes: Int
    }

    /// Verify operations per second from `openssl speed -mr`, by JOSE name. Lines:
    /// `+F2:i:bits:sign/s:verify/s` (RSA), `+F4:i:bits:sign/s:verify/s` (ECDSA),
    /// `+F6:i:bits:name:sign/s:verify/s` (EdDSA).
    static func openSSLVerifyRates(seconds: Double) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "speed", "-seconds", String(Int(seconds.rounded(.up))), "-mr", "ecdsap256", "rsa2048", "ed25519",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var rates: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch fields.first {
            case "+F2" where fields.count >= 5 && fields[2] == "2048": rates["RS256"] = Double(fields[4])
            case "+F4" where fields.count >= 5 && fields[2] == "256": rates["ES256"] = Double(fields[4])
            case "+F6" where fields.count >= 6 && fields[3] == "Ed25519": rates["EdDSA"] = Double(fields[5])
            default: break
            }
        }
        guard process.terminationStatus == 0, rates.count == 3 else {
            throw Usage(message: "cannot read verify rates from `openssl speed -mr`")
        }
        return rates
    }

    struct Usage: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// A 2048-bit RSA key made with the openssl CLI: `openssl speed rsa2048` uses 2048 bits, and
    /// `JWTSigningKey.generate` makes 3072-bit keys.
    static func rsa2048Signer() throws -> JWTSigningKey {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pem = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Usage(message: "openssl genpkey failed") }
        return try JWTSigningKey(pem: pem, algorithm: .RS256, keyID: "bench-RS256")
    }

    /// Microseconds per call: the best of 3 runs of about `seconds` / 3 each, after a warm-up.
    static func measure(seconds: Double, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<200 { try body() }
        var best = Double.infinity
        for _ in 0..<3 {
            var iterations = 0
            let clock = ContinuousClock()
            let started = clock.now
            var elapsed = Duration.zero
            while elapsed < .seconds(seconds / 3) {
                for _ in 0..<100 { try body() }
                iterations += 100
                elapsed = clock.now - started
            }
            best = min(best, microseconds(elapsed) / Double(iterations))
        }
        return best
    }

    static func measureAsync(seconds: Double, _ body: @Sendable () async throws -> Void) async throws -> Double {
        for _ in 0..<200 { try await body() }
        var best = Double.infinity
        for _ in 0..<3 {
            var iterations = 0
            let clock = ContinuousClock()
            let started = clock.now
            var elapsed = Duration.zero
            while elapsed < .seconds(seconds / 3) {
                for _ in 0..<100 { try await body() }
                iterations += 100
                elapsed = clock.now - started
            }
            best = min(best, microseconds(elapsed) / Double(iterations))
        }
        return best
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }

    static func format(_ value: Double, digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }
}
