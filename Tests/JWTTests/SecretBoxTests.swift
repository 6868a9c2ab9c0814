import Foundation
import JWT
import Testing

@Suite struct SecretBoxTests {
    let key = SecureRandom.bytes(32)

    @Test(arguments: [0, 1, 15, 16, 17, 1000])
    func sealedSecretsOpenToTheirPlaintext(length: Int) throws {
        let box = try SecretBox(key: key)
        let plaintext = SecureRandom.bytes(length)
        let sealed = try box.seal(plaintext)
        #expect(sealed.count == 1 + 12 + length + 16)
        #expect(try box.open(sealed) == plaintext)
    }

    @Test func everySealUsesAFreshNonce() throws {
        let box = try SecretBox(key: key)
        let plaintext = Array("postgresql://admin:secret@db/postgres".utf8)
        let first = try box.seal(plaintext)
        let second = try box.seal(plaintext)
        #expect(first != second)
        #expect(!String(decoding: first, as: UTF8.self).contains("secret"))
    }

    @Test func tamperedOrForeignSecretsAreRefused() throws {
        let box = try SecretBox(key: key)
        let sealed = try box.seal(Array("s3cret".utf8))
        for index in [0, 1, 13, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: JWTError.self) { try box.open(tampered) }
        }
        let other = try SecretBox(key: SecureRandom.bytes(32))
        #expect(throws: JWTError.self) { try other.open(sealed) }
        #expect(throws: JWTError.self) { try box.open(Array(sealed.prefix(20))) }
        #expect(throws: JWTError.self) { try SecretBox(key: SecureRandom.bytes(16)) }
    }

    /// Python's `cryptography` (an independent AES-GCM) opens what SecretBox sealed.
    @Test func anotherImplementationOpensTheSealedForm() throws {
        let box = try SecretBox(key: key)
        let plaintext = Array("interop check".utf8)
        let sealed = try box.seal(plaintext)
        let script = """
            import sys, base64
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            key, sealed = (base64.b64decode(part) for part in sys.stdin.read().split())
            sys.stdout.write(AESGCM(key).decrypt(sealed[1:13], sealed[13:], sealed[:1]).decode())
            """
        let input = Data(key).base64EncodedString() + " " + Data(sealed).base64EncodedString()
        let output = try TestSupport.run(["python3", "-c", script], input: Array(input.utf8))
        #expect(output == plaintext)
    }
}
