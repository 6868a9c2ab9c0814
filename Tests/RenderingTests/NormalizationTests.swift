import Testing

@testable import Rendering

@Suite struct NormalizationTests {
    /// The byte-wise path gives exactly the bytes of the `Character`-wise one.
    @Test(arguments: [
        "", "\n", "\n\n\n", "a", "a\n", "a\n\n", "\n\na\n", "a  \n\t\n \nb\t \n", "a\n\n\n\nb\n\n", "  \n  a  \n  ", "a\nb\nc",
        "key: value   \n\n\n  - item\t\n\n", " ", "\t\t\n\t", "x\n \n\t\n \ny\n \n",
        // not ASCII, or with carriage returns: the Character-wise path
        "caf\u{E9} \n\n\nb", "a \r\n\r\n\nb  \n\n", "x\r\n\n", "a \u{301}\nb", "\u{600} \nb",
    ])
    func normalizedBytesMatchNormalized(text: String) {
        #expect(StackRenderer.normalizedBytes(text) == Array(StackRenderer.normalized(text).utf8))
    }
}
