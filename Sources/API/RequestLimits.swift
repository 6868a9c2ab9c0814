/// What one principal may send: `PROVISIONER_RATE_LIMIT` and `PROVISIONER_MAX_BODY_BYTES`.
public struct RequestLimits: Sendable {
    /// Requests per second per principal, with a burst of twice that (partner
    /// tokens get a fifth); `0` turns rate limiting off.
    public var requestsPerSecond: Double
    /// Request bodies larger than this many bytes are refused with 413.
    public var maxBodyBytes: Int

    public static let defaultRequestsPerSecond = 50.0

    public init(requestsPerSecond: Double = defaultRequestsPerSecond, maxBodyBytes: Int = JSONBody.maximumSize) {
        self.requestsPerSecond = requestsPerSecond
        self.maxBodyBytes = maxBodyBytes
    }
}
