/// Validation of user-supplied names before they reach SQL, templates or hostnames.
public enum NamePattern {
    /// `^[a-z][a-z0-9-]{1,38}[a-z0-9]$`: the immutable slugs of regions, plans,
    /// organizations, brands and tenants.
    public static func isSlug(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes.count <= 40 else { return false }
        guard isLower(bytes[0]) else { return false }
        let last = bytes[bytes.count - 1]
        guard isLower(last) || isDigit(last) else { return false }
        return bytes.dropFirst().dropLast().allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// A lowercase DNS name of at least two labels: labels of `[a-z0-9-]`, 1 to 63
    /// bytes, no hyphen at either end, 253 bytes at most, no trailing dot.
    public static func isDomainName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count) else { return false }
            guard let first = label.first, let last = label.last,
                first != UInt8(ascii: "-"), last != UInt8(ascii: "-")
            else { return false }
            guard label.allSatisfy({ isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }) else { return false }
        }
        // The top-level label is never all digits.
        return !(labels.last?.allSatisfy(isDigit) ?? true)
    }

    /// A relative path inside the GitOps repository: `[a-z0-9._/-]`, 1 to 200
    /// bytes, starting with a letter or digit, without empty or dot-dot segments.
    public static func isRepositoryPath(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...200).contains(bytes.count), isLower(bytes[0]) || isDigit(bytes[0]) else { return false }
        guard
            bytes.allSatisfy({
                isLower($0) || isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-")
            })
        else { return false }
        let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        return segments.allSatisfy { !$0.isEmpty && !$0.elementsEqual(".".utf8) && !$0.elementsEqual("..".utf8) }
    }

    /// A display name: 1 to 200 characters, no control characters, not blank.
    public static func isDisplayName(_ text: String) -> Bool {
        // Counted in code points, as JSON Schema's maxLength counts.
        let count = text.unicodeScalars.count
        guard count >= 1, count <= 200 else { return false }
        guard text.unicodeScalars.allSatisfy({ !$0.properties.generalCategory.isControl }) else { return false }
        return !text.allSatisfy(\.isWhitespace)
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

extension Unicode.GeneralCategory {
    fileprivate var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse: true
        default: false
        }
    }
}
