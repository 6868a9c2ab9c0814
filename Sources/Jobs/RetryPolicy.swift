import Postgres

/// Exponential backoff with jitter between attempts of a failing job.
///
/// The delay after attempt `n` is `base * 2^(n-1)`, capped at `maximum`, then a random share of
/// up to `jitter` (0...1) of it is taken off, so jobs that failed together do not retry together.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration
    public var jitter: Double

    public init(base: Duration = .seconds(5), maximum: Duration = .seconds(3600), jitter: Double = 0.25) {
        self.base = base
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before the attempt after `attempt` (from 1); `unit` in 0..<1 picks the jitter.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 62)
        let baseSeconds = base.seconds
        let capped = min(baseSeconds * Double(sign: .plus, exponent: exponent, significand: 1), maximum.seconds)
        let jittered = capped * (1 - jitter * min(max(unit, 0), 1))
        return .milliseconds(Int64((jittered * 1000).rounded()))
    }

    /// ``delay(afterAttempt:unit:)`` with a random jitter.
    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, unit: Double.random(in: 0..<1))
    }
}
