import Logging
import Postgres
import TestSupport
import Testing

/// Runs its own throwaway cluster so it can restart the server under a listener.
@Suite("Listener recovery when PostgreSQL restarts", .serialized, .timeLimit(.minutes(3)))
struct ListenerRecoveryTests {
    @Test(.timeLimit(.minutes(2)))
    func listenerReconnectsByItselfSignalsItAndReceivesNewNotifications() async throws {
        let cluster = try await TemporaryCluster.start()
        let configuration = PostgresConfiguration(
            connectionString: cluster.connectionString,
            poolSize: 2,
            connectTimeout: .seconds(2),
            acquireTimeout: .seconds(2)
        )
        let pool = PostgresPool(configuration: configuration, logger: Logger(label: "listener-recovery-test"))
        let channel = "jobs"
        let listener = try PostgresListener(
            configuration: configuration,
            channels: [channel],
            logger: Logger(label: "listener-recovery-test")
        )
        let recorder = ListenerEventRecorder(listener)
        do {
            listener.start()
            try await exercise(listener: listener, recorder: recorder, pool: pool, cluster: cluster, channel: channel)
        } catch {
            await listener.close()
            await pool.close()
            await cluster.destroy()
            throw error
        }
        await listener.close()
        await pool.close()
        await cluster.destroy()
    }

    @Test(.timeLimit(.minutes(2)))
    func listenerStartedWhileServerIsDownListensOnceItIsUpAndLogsOnlyTransitions() async throws {
        let cluster = try await TemporaryCluster.start()
        let logs = LockedValue<[String]>([])
        let listener = try PostgresListener(
            configuration: PostgresConfiguration(connectionString: cluster.connectionString, connectTimeout: .seconds(2)),
            channels: ["jobs"],
            logger: Logger(label: "listener-recovery-test") { _ in CapturingLogHandler(lines: logs) }
        )
        let recorder = ListenerEventRecorder(listener)
        do {
            try await cluster.stop(mode: .fast)
            listener.start()
            // Several attempts fail while the server is down (backoff starts at 100 ms).
            try await Task.sleep(for: .seconds(1))
            #expect(recorder.events.isEmpty)
            try await cluster.startServer()
            #expect(try await recorder.wait(timeout: .seconds(30)) { $0.events.contains(.listening) })
        } catch {
            await listener.close()
            await cluster.destroy()
            throw error
        }
        await listener.close()
        await cluster.destroy()
        let lines = logs.withLock { $0 }
        #expect(
            lines.map { $0.split(separator: "|").first.map(String.init) } == [
                "postgres listener connection failed", "postgres listener connection restored",
            ])
        #expect(!lines.contains { $0.contains(cluster.connectionString) || $0.contains(String(cluster.port)) })
        #expect(recorder.events == [.listening])
    }

    private func exercise(
        listener: PostgresListener,
        recorder: ListenerEventRecorder,
        pool: PostgresPool,
        cluster: TemporaryCluster,
        channel: String
    ) async throws {
        try #require(try await recorder.wait { $0.events.contains(.listening) })
        try await pool.query("SELECT pg_notify($1, $2)", [channel, "before"])
        try #require(try await recorder.wait { $0.notifications.count == 1 })

        try await cluster.stop(mode: .fast)
        try await cluster.startServer()

        try #require(try await recorder.wait(timeout: .seconds(30)) { $0.events.contains(.reconnected) })
        // The pool recovers by itself too, but may need an attempt to notice its connections died.
        try #require(try await notify(pool, channel, "after", within: .seconds(30)))
        #expect(try await recorder.wait { $0.notifications.count == 2 })
        #expect(
            recorder.events.map(Self.summary) == ["listening", "before", "reconnected", "after"]
        )

        listener.stop()
        #expect(try await recorder.wait { $0.streamEnded })
    }

    private func notify(_ pool: PostgresPool, _ channel: String, _ payload: String, within timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                try await pool.query("SELECT pg_notify($1, $2)", [channel, payload])
                return true
            } catch let error as DatabaseError where error.isUnavailable {
                guard ContinuousClock.now < deadline else {
                    return false
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private static func summary(_ event: PostgresListener.Event) -> String {
        switch event {
        case .listening:
            return "listening"
        case .reconnected:
            return "reconnected"
        case .notification(let notification):
            return notification.payload
        }
    }
}

/// Keeps each log line as "message|metadata".
private struct CapturingLogHandler: LogHandler {
    let lines: LockedValue<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.withLock { $0.append("\(event.message)|\(merged)") }
    }
}
