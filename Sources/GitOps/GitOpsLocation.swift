/// Where a stack's files live in the repository: `regions/<region>/stacks/<stack>`.
public struct GitOpsLocation: Sendable, Hashable {
    public let region: String
    public let stack: String

    /// Both names must be lower-case slugs (`[a-z0-9-]`, starting with a letter, at most 63 bytes).
    public init(region: String, stack: String) throws(GitOpsError) {
        guard Self.isName(region) else { throw .invalidLocation(region) }
        guard Self.isName(stack) else { throw .invalidLocation(stack) }
        self.region = region
        self.stack = stack
    }

    /// The directory, without a trailing slash.
    public var directory: String { "regions/\(region)/stacks/\(stack)" }

    static func isName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            bytes.last != UInt8(ascii: "-")
        else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }
}
