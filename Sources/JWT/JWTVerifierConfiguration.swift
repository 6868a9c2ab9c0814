/// What a `JWTVerifier` accepts.
public struct JWTVerifierConfiguration: Sendable {
    /// The only accepted `iss`.
    public var issuer: String
    /// `aud` must be or contain this value.
    public var audience: String
    /// Clock skew tolerated for `exp`, `nbf` and `iat`; clamped to 0...60 seconds.
    public var leeway: Duration {
        get { storedLeeway }
        set { storedLeeway = Self.clamp(newValue) }
    }
    /// Longer tokens are refused before any parsing.
    public var maxTokenBytes: Int
    /// Enables HS256 with this secret; ignored (HS256 stays refused) when shorter than 32 bytes.
    public var hmacSecret: [UInt8]?

    private var storedLeeway: Duration

    public static let maximumLeeway: Duration = .seconds(60)
    public static let minimumHMACSecretBytes = 32

    public init(
        issuer: String, audience: String, leeway: Duration = .seconds(60), maxTokenBytes: Int = 8192,
        hmacSecret: [UInt8]? = nil
    ) {
        self.issuer = issuer
        self.audience = audience
        self.storedLeeway = Self.clamp(leeway)
        self.maxTokenBytes = maxTokenBytes
        self.hmacSecret = hmacSecret
    }

    private static func clamp(_ leeway: Duration) -> Duration {
        min(max(leeway, .zero), maximumLeeway)
    }

    var leewaySeconds: Double {
        let components = leeway.components
        return Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The HMAC secret when HS256 is usable.
    var usableHMACSecret: [UInt8]? {
        guard let hmacSecret, hmacSecret.count >= Self.minimumHMACSecretBytes else { return nil }
        return hmacSecret
    }
}
