import Synchronization
import Testing

@testable import API

/// Token bucket arithmetic against a clock the test moves by hand.
@Suite(.timeLimit(.minutes(3))) struct RateLimiterTests {
    final class ManualClock: Sendable {
        let nanoseconds = Atomic<Int64>(0)

        func advance(_ duration: Duration) {
            let components = duration.components
            nanoseconds.add(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000, ordering: .relaxed)
        }

        var read: @Sendable () -> Int64 { { self.nanoseconds.load(ordering: .relaxed) } }
    }

    static func user(_ subject: String) -> Principal {
        Principal(issuer: "https://idp.test", subject: subject, roles: [.orgViewer], organization: "org-a", scope: nil, tenants: nil)
    }

    static func partner(_ subject: String) -> Principal {
        .partner(issuer: "provisioner", subject: subject, organization: "org-a", scopes: ["tenants:read"], tenants: nil)
    }

    /// How many requests pass in a row before the first refusal.
    static func drain(_ limiter: RateLimiter, _ principal: Principal) -> (passed: Int, refusal: RateLimiter.Decision) {
        var passed = 0
        while true {
            let decision = limiter.acquire(principal)
            guard decision == .allowed else { return (passed, decision) }
            passed += 1
            if passed > 10_000 { return (passed, decision) }
        }
    }

    @Test func burstIsTwiceTheRateThenOneRequestPerTick() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 10, now: clock.read)
        let alice = Self.user("alice")
        let first = Self.drain(limiter, alice)
        #expect(first.passed == 20)
        #expect(first.refusal == .limited(retryAfter: 1))
        clock.advance(.milliseconds(100))
        #expect(limiter.acquire(alice) == .allowed)
        #expect(limiter.acquire(alice) != .allowed)
        clock.advance(.milliseconds(250))
        #expect(Self.drain(limiter, alice).passed == 2)
    }

    @Test func refillStopsAtTheBurst() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 5, now: clock.read)
        let alice = Self.user("alice")
        _ = Self.drain(limiter, alice)
        clock.advance(.seconds(3600))
        #expect(Self.drain(limiter, alice).passed == 10)
    }

    @Test func retryAfterIsWholeSecondsUntilTheNextRequest() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 0.25, now: clock.read)
        let alice = Self.user("alice")
        // A rate below one request in two seconds still lets one request through.
        #expect(limiter.acquire(alice) == .allowed)
        #expect(limiter.acquire(alice) == .limited(retryAfter: 4))
        clock.advance(.milliseconds(2500))
        #expect(limiter.acquire(alice) == .limited(retryAfter: 2))
        clock.advance(.milliseconds(1500))
        #expect(limiter.acquire(alice) == .allowed)
        #expect(limiter.acquire(alice) == .limited(retryAfter: 4))
    }

    @Test func partnerTokensGetAFifth() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 10, now: clock.read)
        let partner = Self.partner("token-1")
        #expect(partner.isPartner)
        let first = Self.drain(limiter, partner)
        #expect(first.passed == 4)
        #expect(first.refusal == .limited(retryAfter: 1))
        clock.advance(.milliseconds(500))
        #expect(Self.drain(limiter, partner).passed == 1)
        clock.advance(.seconds(60))
        #expect(Self.drain(limiter, partner).passed == 4)
        #expect(Self.drain(limiter, Self.user("token-1")).passed == 20, "users keep their own, larger buckets")
    }

    @Test func principalsHaveTheirOwnBuckets() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 1, now: clock.read)
        #expect(Self.drain(limiter, Self.user("alice")).passed == 2)
        #expect(Self.drain(limiter, Self.user("bob")).passed == 2)
        let otherIssuer = Principal(
            issuer: "https://other.test", subject: "alice", roles: [], organization: nil, scope: nil, tenants: nil
        )
        #expect(Self.drain(limiter, otherIssuer).passed == 2)
    }

    @Test func memoryIsBoundedAndRefilledBucketsGoFirst() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 1, maximumBuckets: 8, shardCount: 1, now: clock.read)
        for index in 0..<8 { _ = limiter.acquire(Self.user("idle-\(index)")) }
        #expect(limiter.bucketCount == 8)
        clock.advance(.seconds(10))
        _ = Self.drain(limiter, Self.user("busy"))
        #expect(limiter.bucketCount == 1, "refilled buckets are forgotten when room is needed")
        for index in 0..<100 { _ = limiter.acquire(Self.user("burst-\(index)")) }
        #expect(limiter.bucketCount <= 8)
    }

    @Test func aFullShardOfActiveBucketsDropsTheLeastRecentlyUsed() {
        let clock = ManualClock()
        let limiter = RateLimiter(perSecond: 1, maximumBuckets: 4, shardCount: 1, now: clock.read)
        for name in ["a", "b", "c", "d"] {
            _ = Self.drain(limiter, Self.user(name))
            clock.advance(.milliseconds(10))
        }
        _ = limiter.acquire(Self.user("e"))
        #expect(limiter.bucketCount == 3)
        // "d" was kept, still empty; "a" was dropped and starts afresh.
        #expect(limiter.acquire(Self.user("d")) != .allowed)
        #expect(limiter.acquire(Self.user("a")) == .allowed)
    }

    @Test func concurrentCallersShareTheBudgetExactly() async {
        let limiter = RateLimiter(perSecond: 100, now: { 0 })
        let alice = Self.user("alice")
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<100).reduce(0) { count, _ in count + (limiter.acquire(alice) == .allowed ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 200)
    }
}
