/// The strict shapes a spec's strings must have. Each check is written out on the UTF-8 bytes (no
/// regular-expression engine, no Unicode normalization surprises): a value either matches exactly
/// or is refused.
public enum SpecPattern {
    /// `^[a-z][a-z0-9-]{1,38}[a-z0-9]$`: region, organization, tenant, stack slugs.
    public static func isSlug(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count >= 3, bytes.count <= 40, let first = bytes.first, let last = bytes.last else { return false }
        return isLower(first) && (isLower(last) || isDigit(last)) && bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == dash }
    }

    /// A lower-case DNS name: at least two labels of 1–63 bytes of `[a-z0-9-]`, no label starting
    /// or ending with `-`, at most 253 bytes, no trailing dot, a top-level label that is not all digits.
    public static func isHostname(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = bytes.split(separator: dot, omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard let first = label.first, let last = label.last, label.count <= 63, first != dash, last != dash,
                label.allSatisfy({ isLower($0) || isDigit($0) || $0 == dash })
            else { return false }
        }
        guard let top = labels.last, !top.allSatisfy(isDigit) else { return false }
        return true
    }

    /// `^[a-z][a-z0-9_]{0,62}$`: PostgreSQL database and role names.
    public static func isDatabaseIdentifier(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, bytes.count <= 63, isLower(first) else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == underscore }
    }

    /// An image repository: optional registry host (`ghcr.io`, `registry.local:5000`) and one or
    /// more lower-case path components of `[a-z0-9]` separated by single `.`, `_`, `__` or `-` runs.
    public static func isImageRepository(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        var components = bytes.split(separator: slash, omittingEmptySubsequences: false).map(Array.init)
        if components.count > 1, let registry = components.first, registry.contains(dot) || registry.contains(colon) {
            guard isRegistry(registry) else { return false }
            components.removeFirst()
        }
        return components.allSatisfy(isPathComponent)
    }

    /// An exact version tag: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}` that contains a digit and is not a
    /// floating name (`latest`, `stable`, `main`, ...).
    public static func isImageTag(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, bytes.count <= 128, isAlphanumeric(first) else { return false }
        guard bytes.allSatisfy({ isAlphanumeric($0) || $0 == dot || $0 == underscore || $0 == dash }) else { return false }
        let floating: Set<String> = ["latest", "stable", "edge", "main", "master", "nightly", "dev"]
        return bytes.contains(where: isDigit) && !floating.contains(value.lowercased())
    }

    /// `host:port` with a hostname, a single-label service name or an IPv4 address, port 1–65535.
    public static func isBackendAddress(_ value: String) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = Int(parts[1]), String(port) == parts[1], (1...65_535).contains(port) else { return false }
        let host = String(parts[0])
        return isHostname(host) || isIPv4(host) || isLabel(host)
    }

    /// A dotted-quad IPv4 address without leading zeros.
    public static func isIPv4(_ value: String) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in Int(part).map { String($0) == part && (0...255).contains($0) } ?? false }
    }

    /// `a.b.c.d/n` with n in 0–32.
    public static func isIPv4CIDR(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), String(bits) == parts[1], (0...32).contains(bits) else { return false }
        return isIPv4(String(parts[0]))
    }

    /// A single DNS label (`[a-z0-9-]`, 1–63, no leading or trailing `-`), e.g. a Kubernetes
    /// object or namespace name.
    public static func isLabel(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, first != dash, last != dash else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == dash }
    }

    /// `https://host[:port]/path` with a validated host and a path of `[A-Za-z0-9._~/-]`.
    public static func isRepositoryURL(_ value: String) -> Bool {
        guard value.hasPrefix("https://") else { return false }
        let rest = value.dropFirst("https://".count)
        let hostPart = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPart.count)
        let hostAndPort = hostPart.split(separator: ":", omittingEmptySubsequences: false)
        guard hostAndPort.count <= 2, isHostname(String(hostAndPort[0])) else { return false }
        if hostAndPort.count == 2 {
            guard let port = Int(hostAndPort[1]), String(port) == hostAndPort[1], (1...65_535).contains(port) else { return false }
        }
        return path.utf8.count <= 512 && isPathText(path, extra: [tilde])
    }

    /// A relative repository path (`eu-west/stacks/abc`): components of `[A-Za-z0-9._-]`, no `..`.
    public static func isRelativePath(_ value: String) -> Bool {
        guard !value.isEmpty, value.utf8.count <= 255, !value.hasPrefix("/") else { return false }
        return value.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
                && part.utf8.allSatisfy { isAlphanumeric($0) || $0 == dot || $0 == underscore || $0 == dash }
        }
    }

    /// A git revision: branch, tag or commit name of `[A-Za-z0-9._/-]`, no `..`, not starting with `-`.
    public static func isGitRevision(_ value: String) -> Bool {
        guard let first = value.utf8.first, value.utf8.count <= 255, first != dash, !value.contains("..") else { return false }
        return value.utf8.allSatisfy { isAlphanumeric($0) || $0 == dot || $0 == underscore || $0 == dash || $0 == slash }
    }

    /// `s3://bucket/prefix` with a bucket of `[a-z0-9.-]` and a prefix of `[A-Za-z0-9._/-]`.
    public static func isObjectStoreURL(_ value: String) -> Bool {
        guard value.hasPrefix("s3://") else { return false }
        let rest = value.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard bucket.utf8.count >= 3, bucket.utf8.count <= 63,
            bucket.utf8.allSatisfy({ isLower($0) || isDigit($0) || $0 == dot || $0 == dash })
        else { return false }
        return rest.utf8.count <= 512 && isPathText(rest.dropFirst(bucket.count), extra: [])
    }

    /// A six-field cron expression (seconds first): fields of `[0-9*/,-]`, single spaces.
    public static func isSixFieldCron(_ value: String) -> Bool {
        let fields = value.split(separator: " ", omittingEmptySubsequences: false)
        return fields.count == 6
            && fields.allSatisfy { field in
                !field.isEmpty && field.utf8.count <= 32
                    && field.utf8.allSatisfy { isDigit($0) || $0 == asterisk || $0 == slash || $0 == comma || $0 == dash }
            }
    }

    // MARK: - bytes

    private static let dash = UInt8(ascii: "-")
    private static let dot = UInt8(ascii: ".")
    private static let underscore = UInt8(ascii: "_")
    private static let slash = UInt8(ascii: "/")
    private static let colon = UInt8(ascii: ":")
    private static let tilde = UInt8(ascii: "~")
    private static let asterisk = UInt8(ascii: "*")
    private static let comma = UInt8(ascii: ",")

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLower(byte) || isDigit(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isPathText(_ text: Substring, extra: Set<UInt8>) -> Bool {
        guard !text.contains("..") && !text.contains("//") else { return false }
        return text.utf8.allSatisfy { isAlphanumeric($0) || $0 == dot || $0 == underscore || $0 == dash || $0 == slash || extra.contains($0) }
    }

    private static func isRegistry(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, isHostname(String(parts[0])) || parts[0] == "localhost" else { return false }
        if parts.count == 2 {
            guard let port = Int(parts[1]), String(port) == parts[1], (1...65_535).contains(port) else { return false }
        }
        return true
    }

    private static func isPathComponent(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 128 else { return false }
        guard (isLower(first) || isDigit(first)) && (isLower(last) || isDigit(last)) else { return false }
        var separatorRun: [UInt8] = []
        for byte in bytes {
            if isLower(byte) || isDigit(byte) {
                guard
                    separatorRun.isEmpty || separatorRun == [dot] || separatorRun == [underscore] || separatorRun == [underscore, underscore]
                        || separatorRun.allSatisfy({ $0 == dash })
                else { return false }
                separatorRun = []
            } else if byte == dot || byte == underscore || byte == dash {
                separatorRun.append(byte)
            } else {
                return false
            }
        }
        return true
    }
}
