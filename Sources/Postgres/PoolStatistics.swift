/// A snapshot of a ``PostgresPool``'s connections, for metrics.
public struct PoolStatistics: Sendable, Equatable {
    /// The configured maximum number of connections.
    public var size: Int
    /// Connections open or being opened.
    public var open: Int
    /// Connections lent to callers.
    public var inUse: Int
    /// Open connections waiting in the pool.
    public var idle: Int
    /// Callers waiting for a connection.
    public var waiting: Int

    public init(size: Int, open: Int, inUse: Int, idle: Int, waiting: Int) {
        self.size = size
        self.open = open
        self.inUse = inUse
        self.idle = idle
        self.waiting = waiting
    }
}
