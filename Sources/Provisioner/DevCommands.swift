import API
import ArgumentParser
import Foundation
import JWT

/// Development keys under the data folder: a signing key the embedded default's
/// `serve` trusts through a JWKS file, and the master key for secrets at rest.
struct DevKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-keys",
        abstract: "Create (once) the development signing key, its JWKS file and the master key under PROVISIONER_DATA_DIR."
    )

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let keys = try DevelopmentKeys.ensure(in: settings.developmentKeyDirectory)
        if settings.masterKeyFile == nil {
            try MasterKey.createIfMissing(at: settings.resolvedMasterKeyFile())
        }
        print(keys.jwksFile.path)
    }
}

struct DevTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-token", abstract: "Print a token signed with the development key, for curl and tests."
    )

    @Option(help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).")
    var role: String

    @Option(help: "Organization slug the token is confined to (organization roles need one).")
    var org: String?

    @Option(help: "Subject (principal) of the token.")
    var sub: String?

    @Option(help: "Space-separated scopes that narrow the role.")
    var scope: String?

    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600

    func validate() throws {
        guard Role(rawValue: role) != nil else {
            throw ValidationError("unknown role '\(role)'; one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...(90 * 86_400)).contains(ttl) else { throw ValidationError("--ttl must be 1 to 7776000 seconds") }
    }

    func run() async throws {
        let settings = try Settings.fromEnvironment()
        let keys = try DevelopmentKeys.ensure(in: settings.developmentKeyDirectory)
        let now = Date().timeIntervalSince1970.rounded(.down)
        var claims: [String: JSONValue] = [
            "iss": .string(settings.jwtIssuer ?? DevelopmentKeys.issuer),
            "aud": .string(settings.jwtAudience ?? DevelopmentKeys.audience),
            "sub": .string(sub ?? "dev-\(role)"),
            "roles": .array([.string(role)]),
            "iat": .number(now),
            "nbf": .number(now),
            "exp": .number(now + Double(ttl)),
            "jti": .string(Base64URL.encode(SecureRandom.bytes(16))),
        ]
        if let org { claims["org"] = .string(org) }
        if let scope { claims["scope"] = .string(scope) }
        print(try keys.signingKey.sign(claims: claims))
    }
}

/// The development signing key pair, kept in `<data>/dev/`.
struct DevelopmentKeys {
    static let issuer = "provisioner-dev"
    static let audience = "provisioner"

    var signingKey: JWTSigningKey
    var jwksFile: URL

    static func ensure(in directory: URL) throws -> DevelopmentKeys {
        let manager = FileManager.default
        let pemFile = directory.appendingPathComponent("signing-key.pem")
        let kidFile = directory.appendingPathComponent("signing-key.kid")
        let jwksFile = directory.appendingPathComponent("jwks.json")
        try manager.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key: JWTSigningKey
        if manager.fileExists(atPath: pemFile.path), manager.fileExists(atPath: kidFile.path) {
            let keyID = try String(contentsOf: kidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            key = try JWTSigningKey(pem: try String(contentsOf: pemFile, encoding: .utf8), algorithm: .ES256, keyID: keyID)
        } else {
            let keyID = "dev-" + Base64URL.encode(SecureRandom.bytes(9))
            key = try JWTSigningKey.generate(.ES256, keyID: keyID)
            guard
                manager.createFile(
                    atPath: pemFile.path, contents: Data(key.privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600]
                )
            else { throw Settings.Invalid(description: "cannot write \(pemFile.path)") }
            try Data((keyID + "\n").utf8).write(to: kidFile)
        }
        let jwks = Data(JSONCoding.encode(.object(["keys": .array([.object(key.publicJWK)])])))
        if (try? Data(contentsOf: jwksFile)) != jwks {
            // Written beside the target, then renamed: readers never see half a file.
            let partial = directory.appendingPathComponent(".jwks.json.partial")
            try jwks.write(to: partial)
            guard rename(partial.path, jwksFile.path) == 0 else {
                throw Settings.Invalid(description: "cannot write \(jwksFile.path)")
            }
        }
        return DevelopmentKeys(signingKey: key, jwksFile: jwksFile)
    }
}
