public import CoreMetrics
public import Logging
public import Postgres
public import ServiceLifecycle
import Synchronization

/// Publishes the number of jobs per queue and state (`provisioner_jobs{queue,state}`) for the
/// waiting, running and dead states, refreshed every `interval`. Finished-and-fine states are
/// left out: counting them would scan the retained history.
public final class QueueDepthReporter: Service, Sendable {
    let pool: PostgresPool
    let factory: any MetricsFactory
    let interval: Duration
    let logger: Logger
    /// Every (queue, state) published so far, so one that emptied is set back to zero.
    private let published = Mutex(Set<[String]>())

    public init(pool: PostgresPool, factory: any MetricsFactory, interval: Duration = .seconds(5), logger: Logger) {
        self.pool = pool
        self.factory = factory
        self.interval = interval
        self.logger = logger
    }

    /// Reads the counts once and publishes them.
    public func refresh() async throws {
        let rows = try await pool.query(
            """
            SELECT queue, state, count(*)::bigint AS jobs FROM jobs
            WHERE state IN ('queued', 'failed', 'running', 'dead')
            GROUP BY queue, state
            """
        )
        var counts: [[String]: Int64] = [:]
        for row in rows {
            counts[[try row.decode(String.self, "queue"), try row.decode(String.self, "state")]] = try row.decode(
                Int64.self, "jobs"
            )
        }
        let keys = published.withLock { seen -> Set<[String]> in
            seen.formUnion(counts.keys)
            return seen
        }
        for key in keys {
            Gauge(label: "provisioner_jobs", dimensions: [("queue", key[0]), ("state", key[1])], factory: factory)
                .record(counts[key] ?? 0)
        }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.refresh()
                } catch {
                    self.logger.warning("queue depth refresh failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: self.interval)
            }
        }
    }
}
