import JWT
import Testing

@Suite struct RemoteJSONWebKeySetTests {
    @Test(arguments: [
        "https://idp.example/.well-known/jwks.json", "HTTPS://idp.example:8443/keys", "http://127.0.0.1:8080/jwks.json",
        "http://127.3.2.1/jwks", "http://[::1]:9000/jwks.json",
    ])
    func acceptsHTTPSAndLoopbackHTTP(location: String) throws {
        #expect(RemoteJSONWebKeySet.isURL(location))
        _ = try RemoteJSONWebKeySet.validatedURL(location)
    }

    @Test(arguments: [
        "http://idp.example/jwks.json", "http://localhost:8080/jwks.json", "http://10.0.0.1/jwks",
        "http://192.168.1.10/jwks", "http://128.0.0.1/jwks", "http://127.0.0.1.attacker.example/jwks",
        "http://0x7f.0.0.1/jwks", "http://[::ffff:10.0.0.1]/jwks", "ftp://idp.example/jwks", "file:///etc/passwd",
        "https:///jwks", "https://", "jwks.json",
    ])
    func refusesEverythingElse(location: String) {
        #expect(throws: JWTError.self) { try RemoteJSONWebKeySet.validatedURL(location) }
    }

    @Test func filePathsAreNotURLs() {
        #expect(!RemoteJSONWebKeySet.isURL("/etc/provisioner/jwks.json"))
        #expect(!RemoteJSONWebKeySet.isURL("./.data/dev/jwks.json"))
    }
}
