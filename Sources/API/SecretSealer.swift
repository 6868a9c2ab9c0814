public import JWT

/// Seals secrets before they are stored in the catalog (AES-256-GCM under the master key).
public protocol SecretSealer: Sendable {
    func seal(_ plaintext: [UInt8]) throws -> [UInt8]
    func open(_ sealed: [UInt8]) throws -> [UInt8]
}

extension SecretBox: SecretSealer {}
