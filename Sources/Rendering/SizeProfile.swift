/// What a stack size means, in one table: container resources, Odoo workers and memory limits,
/// replicas, and the database connection budget.
public struct SizeProfile: Sendable, Hashable {
    public var name: String
    /// Odoo web container.
    public var webCPURequestMillicores: Int
    public var webCPULimitMillicores: Int
    public var webMemoryRequestMiB: Int
    public var webMemoryLimitMiB: Int
    /// Odoo HTTP workers per web pod (`workers`); cron pods run `max_cron_threads`.
    public var workers: Int
    public var cronThreads: Int
    /// Web replicas: the HorizontalPodAutoscaler's range.
    public var minReplicas: Int
    public var maxReplicas: Int
    /// Connections per Odoo process (`db_maxconn`) and the database server's total.
    public var dbMaxConnPerProcess: Int
    public var databaseConnectionLimit: Int
    /// The database instance (dedicated stacks) and Redis.
    public var databaseCPUMillicores: Int
    public var databaseMemoryMiB: Int
    public var redisMemoryMiB: Int
    /// The filestore volume.
    public var filestoreGiB: Int

    /// `limit_memory_soft` / `limit_memory_hard` per worker, in bytes: the container limit shared
    /// among workers plus the main process, with headroom for the hard limit.
    public var limitMemorySoftBytes: Int { webMemoryLimitMiB * 1_048_576 / (workers + 2) }
    public var limitMemoryHardBytes: Int { webMemoryLimitMiB * 1_048_576 * 3 / (2 * (workers + 2)) }

    /// CPU (millicores) and memory (MiB) limits the stack needs at its smallest scale, with one
    /// extra web pod for a rolling update: web pods, the cron pod, one tenant-init Job, Redis and,
    /// for a dedicated stack, the database instances. The namespace quota must cover at least this.
    public func minimumFootprint(databaseInstances: Int) -> (cpuMillicores: Int, memoryMiB: Int) {
        let webPods = minReplicas + 1
        let redisCPU = 500
        let redisMemory = redisMemoryMiB * 2
        let cpu = webCPULimitMillicores * (webPods + 2) + redisCPU + databaseCPUMillicores * databaseInstances
        let memory = webMemoryLimitMiB * (webPods + 2) + redisMemory + databaseMemoryMiB * databaseInstances
        return (cpu, memory)
    }

    /// The sizes, smallest first.
    public static let all: [SizeProfile] = [
        SizeProfile(
            name: "xs", webCPURequestMillicores: 250, webCPULimitMillicores: 1000, webMemoryRequestMiB: 768, webMemoryLimitMiB: 1536,
            workers: 2, cronThreads: 1, minReplicas: 1, maxReplicas: 2, dbMaxConnPerProcess: 8, databaseConnectionLimit: 40,
            databaseCPUMillicores: 500, databaseMemoryMiB: 1024, redisMemoryMiB: 128, filestoreGiB: 5
        ),
        SizeProfile(
            name: "s", webCPURequestMillicores: 500, webCPULimitMillicores: 1000, webMemoryRequestMiB: 1024, webMemoryLimitMiB: 2048,
            workers: 3, cronThreads: 1, minReplicas: 1, maxReplicas: 3, dbMaxConnPerProcess: 8, databaseConnectionLimit: 60,
            databaseCPUMillicores: 500, databaseMemoryMiB: 1024, redisMemoryMiB: 128, filestoreGiB: 10
        ),
        SizeProfile(
            name: "m", webCPURequestMillicores: 1000, webCPULimitMillicores: 2000, webMemoryRequestMiB: 2048, webMemoryLimitMiB: 4096,
            workers: 5, cronThreads: 2, minReplicas: 2, maxReplicas: 4, dbMaxConnPerProcess: 12, databaseConnectionLimit: 120,
            databaseCPUMillicores: 1000, databaseMemoryMiB: 2048, redisMemoryMiB: 256, filestoreGiB: 20
        ),
        SizeProfile(
            name: "l", webCPURequestMillicores: 2000, webCPULimitMillicores: 4000, webMemoryRequestMiB: 4096, webMemoryLimitMiB: 8192,
            workers: 9, cronThreads: 2, minReplicas: 2, maxReplicas: 6, dbMaxConnPerProcess: 16, databaseConnectionLimit: 200,
            databaseCPUMillicores: 2000, databaseMemoryMiB: 4096, redisMemoryMiB: 512, filestoreGiB: 50
        ),
        SizeProfile(
            name: "xl", webCPURequestMillicores: 4000, webCPULimitMillicores: 8000, webMemoryRequestMiB: 8192, webMemoryLimitMiB: 16384,
            workers: 17, cronThreads: 4, minReplicas: 3, maxReplicas: 10, dbMaxConnPerProcess: 24, databaseConnectionLimit: 400,
            databaseCPUMillicores: 4000, databaseMemoryMiB: 8192, redisMemoryMiB: 1024, filestoreGiB: 100
        ),
    ]

    /// The profile named `name`, if it is a size.
    public static func named(_ name: String) -> SizeProfile? {
        all.first { $0.name == name }
    }
}
