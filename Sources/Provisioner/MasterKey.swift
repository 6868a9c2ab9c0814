import API
import Foundation
import JWT

/// The key for secrets at rest: 32 random bytes, base64, in a file.
enum MasterKey {
    static func load(from file: URL) throws -> SecretBox {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw Settings.Invalid(
                description: "cannot read the master key at \(file.path) (PROVISIONER_MASTER_KEY_FILE: 32 random bytes, base64)"
            )
        }
        guard let key = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), key.count == 32 else {
            throw Settings.Invalid(description: "the master key at \(file.path) must be 32 bytes, base64-encoded")
        }
        return try SecretBox(key: Array(key))
    }

    /// Writes a new random key (mode 0600) unless the file exists; returns whether it wrote one.
    @discardableResult
    static func createIfMissing(at file: URL) throws -> Bool {
        guard !FileManager.default.fileExists(atPath: file.path) else { return false }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoded = Data(SecureRandom.bytes(32)).base64EncodedString() + "\n"
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data(encoded.utf8), attributes: [.posixPermissions: 0o600]
            )
        else {
            throw Settings.Invalid(description: "cannot write the master key at \(file.path)")
        }
        return true
    }
}
