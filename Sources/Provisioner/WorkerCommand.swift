import ArgumentParser
import Foundation
import GitOps
import Hummingbird
import Jobs
import Logging
import Postgres
import Prometheus
import Provisioning
import Rendering
import ServiceLifecycle
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run jobs from the queue (run several processes side by side).",
        discussion: """
            SIGTERM or SIGINT stops claiming at once; running jobs get the grace period to finish, the \
            rest are handed back, and the process exits 0. Options fall back to the environment variables \
            named in their help, then to the defaults.
            """
    )

    @Option(name: .customLong("queue"), help: "A queue to take jobs from; repeatable (PROVISIONER_WORKER_QUEUES, comma-separated; default: default).")
    var queues: [String] = []

    @Option(help: "Jobs run at the same time by this process (PROVISIONER_WORKER_CONCURRENCY; default 4).")
    var concurrency: Int?

    @Option(help: "Most jobs taken by one claim.")
    var claimBatch: Int = 100

    @Option(help: "Seconds a claimed job stays held without a heartbeat.")
    var lease: Int = 30

    @Option(help: "Seconds between polls for due jobs when no notification came.")
    var pollInterval: Double = 2

    @Option(help: "Seconds between rescues of expired leases.")
    var rescueInterval: Double = 5

    @Option(help: "Seconds running jobs get to finish at shutdown before they are handed back.")
    var gracePeriod: Int = 25

    @Option(help: "Seconds before the first retry of a failed job; doubles per attempt, with jitter, up to an hour.")
    var retryBase: Double = 5

    @Option(help: "Seconds finished jobs are kept before pruning; 0 keeps them (PROVISIONER_JOB_RETENTION; default 604800).")
    var retention: Int?

    @Option(
        help: """
            Vacuum the jobs table after this process claimed this many jobs; 0 leaves it to autovacuum \
            (PROVISIONER_WORKER_VACUUM_AFTER; default 10000).
            """
    )
    var vacuumAfter: Int?

    @Option(help: "host:port serving /metrics and /healthz for this worker (PROVISIONER_WORKER_METRICS_LISTEN; default none).")
    var metricsListen: String?

    @Option(help: "This process's name in the jobs it holds (default host:pid:random).")
    var workerID: String?

    @Flag(help: "Also run the diagnostics.* job kinds (queue tests and benchmarks; not for production).")
    var diagnostics = false

    func validate() throws {
        guard (1...1000).contains(claimBatch) else {
            throw ValidationError("--claim-batch must be from 1 to 1000")
        }
        guard lease >= 2 else {
            throw ValidationError("--lease must be at least 2 seconds")
        }
        guard gracePeriod >= 0, pollInterval > 0, rescueInterval > 0, retryBase > 0 else {
            throw ValidationError("--grace-period, --poll-interval, --rescue-interval and --retry-base must be positive")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try Settings.fromEnvironment(environment)
        let logger = LoggingSetup.bootstrap(format: settings.logFormat, level: settings.logLevel)
        // Stack templates are checked before any job is claimed: one that does not compile stops the worker.
        let templates = try TemplateSet.loadForStartup(environment: environment)
        let workerConfiguration = try configuration(environment)
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        let connectionString = try settings.requireDatabaseURL()
        let pool = PostgresPool(
            configuration: PostgresConfiguration(
                connectionString: connectionString, poolSize: settings.poolSize,
                statementTimeout: settings.statementTimeout, applicationName: "provisioner-worker"
            ),
            logger: logger
        )
        let migrator = Migrator(pool: pool, directory: settings.migrationsDirectory, logger: logger)
        try await ServeCommand.requireCurrentSchema(migrator)
        let renderer = StackRenderer(templates: templates)
        let repository = GitOpsRepository(path: settings.gitopsRepository, remote: settings.gitopsRemote)
        var handlers: [String: any JobHandler] = [
            StackRenderJob.kind: StackRenderJob(renderer: renderer, repository: repository)
        ]
        var regionServers: RegionDatabaseServers?
        let masterKeyFile = settings.resolvedMasterKeyFile()
        if FileManager.default.fileExists(atPath: masterKeyFile.path) {
            let secrets = try MasterKey.load(from: masterKeyFile)
            let servers = RegionDatabaseServers(secrets: secrets, logger: logger)
            regionServers = servers
            var defaults = StackDefaults()
            if let remote = settings.gitopsRemote, remote.hasPrefix("https://"), !remote.contains("@") {
                defaults.gitopsRepoURL = remote
            }
            let publisher = StackPublisher(renderer: renderer, repository: repository, builder: StackSpecBuilder(defaults: defaults))
            let tenantJobs = TenantLifecycleJob(
                publisher: publisher, servers: servers, secrets: secrets, deleteGrace: TimeInterval(settings.deleteGrace),
                fallbackRegion: settings.sharedRegionFallback
            )
            handlers.merge(tenantJobs.handlers()) { first, _ in first }
        } else {
            // Tenant jobs need the master key (sealed passwords and server URLs): without it this
            // worker leaves them to workers that have it.
            logger.error(
                "no master key: this worker runs no tenant jobs",
                metadata: ["master_key_file": "\(masterKeyFile.path)"]
            )
        }
        if diagnostics {
            try await DiagnosticJobs.prepare(pool)
            handlers.merge(DiagnosticJobs.handlers(pool: pool)) { first, _ in first }
        }
        let worker = Worker(
            queue: JobQueue(
                pool: pool, retryPolicy: RetryPolicy(base: .milliseconds(Int64(retryBase * 1000)))
            ),
            configuration: workerConfiguration, handlers: handlers,
            listenerConfiguration: PostgresConfiguration(
                connectionString: connectionString, applicationName: "provisioner-worker-listener"
            ),
            metrics: WorkerMetrics(factory: factory), logger: logger
        )
        // Shutdown goes from the last service to the first: the worker stops claiming first, and the
        // pool closes last.
        var services: [any Service] = [pool, QueueDepthReporter(pool: pool, factory: factory, interval: .seconds(15), logger: logger)]
        if let listen = metricsListen ?? environment["PROVISIONER_WORKER_METRICS_LISTEN"].flatMap({ $0.isEmpty ? nil : $0 }) {
            services.append(try Self.metricsServer(listen, registry: registry, logger: logger))
        }
        services.append(worker)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            )
        )
        try await group.run()
        await regionServers?.close()
    }

    func configuration(_ environment: [String: String]) throws -> WorkerConfiguration {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        var queueNames = queues
        if queueNames.isEmpty {
            queueNames = (value("PROVISIONER_WORKER_QUEUES") ?? "default").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        guard !queueNames.isEmpty, queueNames.allSatisfy({ !$0.isEmpty }) else {
            throw Settings.Invalid(description: "worker queues must be non-empty names")
        }
        /// The option, else the environment variable, else `fallback`.
        func integer(_ option: Int?, _ name: String, default fallback: Int) throws -> Int {
            if let option {
                return option
            }
            guard let text = value(name) else {
                return fallback
            }
            guard let number = Int(text) else {
                throw Settings.Invalid(description: "\(name) must be an integer")
            }
            return number
        }
        let slots = try integer(concurrency, "PROVISIONER_WORKER_CONCURRENCY", default: 4)
        guard (1...1000).contains(slots) else {
            throw Settings.Invalid(description: "worker concurrency must be from 1 to 1000")
        }
        let retentionSeconds = try integer(retention, "PROVISIONER_JOB_RETENTION", default: 604_800)
        guard retentionSeconds >= 0 else {
            throw Settings.Invalid(description: "the job retention must be a number of seconds (0 keeps jobs)")
        }
        let vacuumThreshold = try integer(vacuumAfter, "PROVISIONER_WORKER_VACUUM_AFTER", default: 10_000)
        guard vacuumThreshold >= 0 else {
            throw Settings.Invalid(description: "the vacuum threshold must be a number of jobs (0: autovacuum only)")
        }
        return WorkerConfiguration(
            queues: queueNames, slots: slots, lease: .seconds(lease),
            pollInterval: .milliseconds(Int64(pollInterval * 1000)),
            rescueInterval: .milliseconds(Int64(rescueInterval * 1000)), gracePeriod: .seconds(gracePeriod),
            claimBatch: claimBatch,
            retention: retentionSeconds == 0 ? nil : .seconds(retentionSeconds),
            vacuumAfterClaims: vacuumThreshold == 0 ? nil : vacuumThreshold,
            workerID: workerID ?? WorkerConfiguration.defaultWorkerID()
        )
    }

    /// `/metrics` (Prometheus text) and `/healthz` for this worker process.
    static func metricsServer(
        _ listen: String, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> some Service {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw Settings.Invalid(description: "the worker metrics address must be host:port, e.g. 127.0.0.1:9464")
        }
        let router = Router()
        router.get("/metrics") { _, _ in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/healthz") { _, _ in
            "ok"
        }
        return Application(
            router: router, configuration: .init(address: .hostname(String(listen[..<colon]), port: port)),
            logger: logger
        )
    }
}
