public import CoreMetrics
import Hummingbird
import Metrics
import Postgres
public import Prometheus

/// Request counts and latencies by route and status, and connection pool gauges,
/// exported in the Prometheus text format.
public struct HTTPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Requests refused with 429, by kind of principal.
    let rateLimitedUsers: CoreMetrics.Counter
    let rateLimitedPartners: CoreMetrics.Counter

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5),
        ]
        self.factory = factory
        let label = "http_requests_rate_limited_total"
        rateLimitedUsers = Counter(label: label, dimensions: [("principal", "user")], factory: factory)
        rateLimitedPartners = Counter(label: label, dimensions: [("principal", "partner")], factory: factory)
    }

    func recordRateLimited(partner: Bool) {
        (partner ? rateLimitedPartners : rateLimitedUsers).increment()
    }

    func record(method: HTTPRequest.Method, route: String, status: Int, duration: Duration) {
        let dimensions = [("method", method.rawValue), ("route", route), ("status", String(status))]
        Counter(label: "http_requests_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(
            label: "http_request_duration_seconds", dimensions: [("method", method.rawValue), ("route", route)],
            factory: factory
        ).recordNanoseconds(duration.nanoseconds)
    }

    /// The exposition text, with pool gauges refreshed first.
    func render(pool: PoolStatistics) -> [UInt8] {
        let gauges: [(String, Int)] = [
            ("db_pool_connections_open", pool.open), ("db_pool_connections_in_use", pool.inUse),
            ("db_pool_connections_idle", pool.idle), ("db_pool_waiting", pool.waiting), ("db_pool_size", pool.size),
        ]
        for (name, value) in gauges {
            Gauge(label: name, factory: factory).record(value)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
