import Foundation
import JWT

/// Shared helpers for the JWT tests.
enum TestSupport {
    static let issuer = "https://issuer.example"
    static let audience = "provisioner"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func configuration(hmacSecret: [UInt8]? = nil) -> JWTVerifierConfiguration {
        JWTVerifierConfiguration(issuer: issuer, audience: audience, hmacSecret: hmacSecret)
    }

    /// Claims that pass every rule at `now`.
    static func claims(_ overrides: [String: JSONValue?] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "aud": .string(audience), "sub": "user-1",
            "exp": .number(now.timeIntervalSince1970 + 600), "iat": .number(now.timeIntervalSince1970 - 10),
            "nbf": .number(now.timeIntervalSince1970 - 10), "jti": "token-1",
        ]
        for (name, value) in overrides { claims[name] = value }
        return claims
    }

    static func payload(_ claims: [String: JSONValue]) -> [UInt8] {
        JSONCoding.encode(.object(claims))
    }

    /// Runs a process, feeding `input` on stdin; returns stdout (throws on a non-zero exit).
    @discardableResult
    static func run(_ arguments: [String], input: [UInt8] = [], in directory: URL? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ProcessFailure(
                command: arguments.first ?? "", status: process.terminationStatus,
                message: String(decoding: errors, as: UTF8.self))
        }
        return [UInt8](output)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let command: String
    let status: Int32
    let message: String
    var description: String { "\(command) exited with \(status): \(message)" }
}
