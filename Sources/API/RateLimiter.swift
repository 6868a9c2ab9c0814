import Synchronization

/// Token buckets per principal (`iss`+`sub`): `rate` requests per second with a
/// burst of twice that; partner tokens get a fifth of both.
///
/// A bucket is kept as the one instant it will be full again (the generic cell
/// rate algorithm): each request moves that instant one interval (1/rate) later,
/// and a request is refused when the instant would lie more than the bucket's
/// capacity (two seconds of requests, at least one request) ahead of now. The
/// arithmetic is whole nanoseconds, and a bucket whose instant has passed is
/// full, the same as no bucket at all.
///
/// Buckets live in this process only: with several replicas each applies the
/// limit on its own (the brief allows per-process state that is safe to lose).
/// They are spread over shards, each behind its own lock, so concurrent callers
/// rarely wait on one another; a shard holds a bounded number of buckets and,
/// when full, forgets the full ones and then, if it must, the fullest half.
public final class RateLimiter: Sendable {
    /// What `acquire` decided.
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Refused; one request is allowed again after this many whole seconds (at least 1).
        case limited(retryAfter: Int)
    }

    /// The cost of one request and the depth of a bucket, in nanoseconds.
    struct Refill: Sendable {
        var interval: Int64
        var capacity: Int64

        init(perSecond: Double) {
            interval = max(1, Int64((1e9 / perSecond).rounded()))
            // A burst of twice the rate is two seconds of requests; never less than one request.
            capacity = max(interval, 2_000_000_000)
        }
    }

    /// Divides the user rate for partner tokens.
    public static let partnerDivisor = 5.0

    private let user: Refill
    private let partner: Refill
    /// Per principal key, the instant its bucket is full again.
    final class Shard: Sendable {
        let buckets = Mutex<[String: Int64]>([:])
    }

    private let shards: [Shard]
    private let bucketsPerShard: Int
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - perSecond: requests per second of a principal of the identity provider (greater than 0).
    ///   - maximumBuckets: buckets kept in memory at most, over all shards.
    ///   - shardCount: independent locks.
    ///   - now: monotonic nanoseconds; tests inject a clock they move by hand.
    public init(
        perSecond: Double, maximumBuckets: Int = 100_000, shardCount: Int = 16,
        now: @escaping @Sendable () -> Int64 = RateLimiter.monotonicNanoseconds
    ) {
        precondition(perSecond > 0 && shardCount > 0 && maximumBuckets >= shardCount)
        user = Refill(perSecond: perSecond)
        partner = Refill(perSecond: perSecond / Self.partnerDivisor)
        shards = (0..<shardCount).map { _ in Shard() }
        bucketsPerShard = maximumBuckets / shardCount
        self.now = now
    }

    /// Takes one request from the principal's bucket.
    public func acquire(_ principal: Principal) -> Decision {
        acquire(key: principal.idempotencyScope, partner: principal.isPartner)
    }

    func acquire(key: String, partner isPartner: Bool) -> Decision {
        let refill = isPartner ? partner : user
        let time = now()
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
        return shard.buckets.withLock { buckets in
            let current = buckets[key]
            if current == nil && buckets.count >= bucketsPerShard { evict(&buckets, at: time) }
            let fullAt = max(current ?? time, time) + refill.interval
            let excess = fullAt - time - refill.capacity
            guard excess <= 0 else {
                let seconds = (excess + 999_999_999) / 1_000_000_000
                return .limited(retryAfter: Int(max(1, seconds)))
            }
            buckets[key] = fullAt
            return .allowed
        }
    }

    /// Makes room in a full shard: full buckets go first (forgetting one changes
    /// nothing), then the half that is closest to full.
    private func evict(_ buckets: inout [String: Int64], at time: Int64) {
        buckets = buckets.filter { $0.value > time }
        guard buckets.count >= bucketsPerShard else { return }
        let closestToFull = buckets.sorted { $0.value < $1.value }
        for (key, _) in closestToFull.prefix(max(1, closestToFull.count / 2)) { buckets[key] = nil }
    }

    /// Buckets currently held, over all shards.
    var bucketCount: Int {
        shards.reduce(0) { count, shard in count + shard.buckets.withLock { $0.count } }
    }

    /// Nanoseconds of the monotonic clock since the first call.
    public static let monotonicNanoseconds: @Sendable () -> Int64 = {
        let origin = ContinuousClock.now
        return {
            let elapsed = ContinuousClock.now - origin
            return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        }
    }()
}
