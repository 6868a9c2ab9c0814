import JWT
import Testing

@Suite struct Base64URLTests {
    @Test(arguments: [
        ("", [UInt8]()),
        ("AA", [0]),
        ("AAE", [0, 1]),
        ("AAEC", [0, 1, 2]),
        ("_-8", [0xFF, 0xEF]),
        ("-_-_", [0xFB, 0xFF, 0xBF]),
        ("Zm9v", Array("foo".utf8)),
        ("Zm9vYg", Array("foob".utf8)),
        ("Zm9vYmE", Array("fooba".utf8)),
    ])
    func decodesCanonicalText(text: String, bytes: [UInt8]) throws {
        #expect(try Base64URL.decode(text) == bytes)
        #expect(Base64URL.encode(bytes) == text)
    }

    @Test(arguments: [
        "A",  // length 4k+1
        "AAAAA",
        "Zm9v=",  // padding
        "Zg==",
        "Zg=",
        "Zm9v+",  // standard alphabet
        "Zm9v/A",
        "Zm 9v",  // whitespace
        "Zm9v\n",
        " Zm9v",
        "Zm9v\t",
        "Zm9v?",  // outside the alphabet
        "Zm9v.",
        "Zm9vé",
        "AB",  // non-canonical: unused bits set
        "AAF",
        "Zh",
        "Zm9vYmF",
        "\0\0",
    ])
    func rejectsNonStrictText(text: String) {
        #expect(throws: JWTError.malformed) { try Base64URL.decode(text) }
    }

    @Test func roundTripsEveryLength() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("="))
            #expect(try Base64URL.decode(text) == bytes)
            #expect(try Base64URL.decode(text[...]) == bytes)  // Substring
        }
    }

    @Test func digestAndRandom() {
        #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256([]).count == 32)
        let first = SecureRandom.bytes(32)
        let second = SecureRandom.bytes(32)
        #expect(first.count == 32 && first != second)
        #expect(SecureRandom.bytes(0).isEmpty)
    }
}
