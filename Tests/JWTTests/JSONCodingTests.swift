import JWT
import Testing

@Suite struct JSONCodingTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "duplicate member"),
        (#"{"a":1,"b":{"c":1,"c":1}}"#, "duplicate member"),
        (#"{"a":1,"\u0061":2}"#, "duplicate member"),  // same name once unescaped
        (#"{"a":1} x"#, "trailing data"),
        (#"{"a":1}{}"#, "trailing data"),
        (#"{"a":1,}"#, "expected member name"),
        (#"[1,]"#, "unexpected character"),
        (#"{"a" 1}"#, "expected colon"),
        (#"{'a':1}"#, "expected member name"),
        (#""abc"#, "unterminated string"),
        ("\"a\u{01}b\"", "control character in string"),
        (#""\x""#, "invalid escape"),
        (#""\ud800""#, "unpaired surrogate"),
        (#""\udc00""#, "unpaired surrogate"),
        (#""\ud800\u0041""#, "unpaired surrogate"),
        ("01", "trailing data"),
        ("-", "invalid number"),
        ("1.", "invalid number"),
        (".5", "unexpected character"),
        ("1e", "invalid number"),
        ("+1", "unexpected character"),
        ("1e999", "number out of range"),
        ("NaN", "unexpected character"),
        ("tru", "unexpected end"),
        ("nul", "unexpected end"),
        ("truE", "invalid literal"),
        ("", "unexpected end"),
        ("\u{FEFF}{}", "unexpected character"),
    ])
    func rejectsInvalidDocuments(text: String, reason: String) {
        #expect(throws: JWTError.invalidJSON(reason)) { try JSONCoding.decode(Array(text.utf8)) }
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22],  // invalid byte
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
            [0x22, 0xE2, 0x82, 0x22],  // truncated sequence
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JWTError.invalidJSON("invalid UTF-8")) { try JSONCoding.decode(bytes) }
    }

    @Test func limitsNestingDepth() throws {
        let allowed = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(try JSONCoding.decode(Array(allowed.utf8)) != .null)
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(throws: JWTError.invalidJSON("nesting too deep")) { try JSONCoding.decode(Array(tooDeep.utf8)) }
        let objects = String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)
        #expect(throws: JWTError.invalidJSON("nesting too deep")) { try JSONCoding.decode(Array(objects.utf8)) }
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JWTError.invalidJSON("nesting too deep")) { try JSONCoding.decode(Array(hostile.utf8)) }
    }

    @Test func parsesValues() throws {
        let text = #" { "s" : "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" , "n" : [0, -1.5, 2e3, 1E-2], "t": true, "f": false, "z": null, "o": {} } "#
        let value = try JSONCoding.decode(Array(text.utf8))
        let expected: JSONValue = [
            "s": "a\"\\/\u{8}\u{c}\n\r\té😀", "n": [0, -1.5, 2000, 0.01], "t": true, "f": false, "z": nil, "o": [:],
        ]
        #expect(value == expected)
        #expect(value.objectValue?["s"]?.stringValue != nil)
        #expect(value.objectValue?["n"]?.arrayValue?[2].doubleValue == 2000)
    }

    @Test func encodesDeterministically() throws {
        let value: JSONValue = [
            "b": [1, 2.5, -3, 1e21, true, nil], "a": "x\"y\\z\n\u{1}é", "é": [:], "B": [], "aa": 9_007_199_254_740_993.0,
        ]
        let encoded = String(decoding: JSONCoding.encode(value), as: UTF8.self)
        #expect(
            encoded
                == #"{"B":[],"a":"x\"y\\z\n\u0001é","aa":9007199254740992,"b":[1,2.5,-3,1e+21,true,null],"é":{}}"#)
        #expect(try JSONCoding.decode(JSONCoding.encode(value)) == value)
        // The same members inserted in another order encode to the same bytes.
        var reversed = [String: JSONValue]()
        for (key, member) in (value.objectValue ?? [:]).reversed() { reversed[key] = member }
        #expect(JSONCoding.encode(.object(reversed)) == JSONCoding.encode(value))
    }
}
