import Logging
import Postgres
import TestSupport
import Testing

@Suite("LISTEN / NOTIFY", .timeLimit(.minutes(3)))
struct ListenerTests {
    struct Rollback: Error {}

    private static func makeListener(_ connectionString: String, channels: [String]) throws -> PostgresListener {
        try PostgresListener(
            configuration: PostgresConfiguration(connectionString: connectionString),
            channels: channels,
            logger: Logger(label: "listener-test")
        )
    }

    @Test(.timeLimit(.minutes(1)))
    func notificationsOnTwoChannelsArriveWithPayloadsInOrder() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, connectionString in
            let first = ListenerEventRecorder.uniqueChannel("jobs")
            let second = ListenerEventRecorder.uniqueChannel("tenants")
            let listener = try Self.makeListener(connectionString, channels: [first, second])
            let recorder = ListenerEventRecorder(listener)
            listener.start()
            #expect(try await recorder.wait { $0.events.contains(.listening) })

            let sent = [(first, "one"), (second, "two"), (first, "three"), (second, "")]
            let senderPID = try await pool.withConnection { connection in
                for (channel, payload) in sent {
                    try connection.execute("SELECT pg_notify($1, $2)", [channel, payload])
                }
                return try connection.query("SELECT pg_backend_pid() AS pid").first?.decode(Int32.self, "pid")
            }
            #expect(try await recorder.wait { $0.notifications.count >= sent.count })
            let received = recorder.notifications
            #expect(received.map(\.channel) == sent.map(\.0))
            #expect(received.map(\.payload) == sent.map(\.1))
            #expect(received.allSatisfy { $0.backendPID == senderPID })
            #expect(recorder.events.first == .listening)
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func channelNameWithQuotesAndSpacesIsEscaped() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, connectionString in
            let channel = ListenerEventRecorder.uniqueChannel("Jobs \"ready\"; DROP") + " now"
            let listener = try Self.makeListener(connectionString, channels: [channel])
            let recorder = ListenerEventRecorder(listener)
            listener.start()
            #expect(try await recorder.wait { $0.events.contains(.listening) })

            try await pool.query("SELECT pg_notify($1, $2)", [channel, "quoted"])
            #expect(try await recorder.wait { !$0.notifications.isEmpty })
            #expect(recorder.notifications.map(\.channel) == [channel])
            #expect(recorder.notifications.map(\.payload) == ["quoted"])
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func notificationsInARolledBackTransactionNeverArrive() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, connectionString in
            let channel = ListenerEventRecorder.uniqueChannel("jobs")
            let listener = try Self.makeListener(connectionString, channels: [channel])
            let recorder = ListenerEventRecorder(listener)
            listener.start()
            #expect(try await recorder.wait { $0.events.contains(.listening) })

            await #expect(throws: Rollback.self) {
                try await pool.transaction { connection in
                    try connection.execute("SELECT pg_notify($1, $2)", [channel, "rolled back"])
                    throw Rollback()
                }
            }
            // Notifications are delivered in commit order: once this one is in, the rolled-back
            // one would have been too.
            try await pool.query("SELECT pg_notify($1, $2)", [channel, "committed"])
            #expect(try await recorder.wait { !$0.notifications.isEmpty })
            #expect(recorder.notifications.map(\.payload) == ["committed"])
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func stopEndsTheStream() async throws {
        let connectionString = try TestDatabase.baseConnectionString()
        let listener = try Self.makeListener(connectionString, channels: [ListenerEventRecorder.uniqueChannel("jobs")])
        let recorder = ListenerEventRecorder(listener)
        listener.start()
        #expect(try await recorder.wait { $0.events.contains(.listening) })
        listener.stop()
        #expect(try await recorder.wait { $0.streamEnded })
        await listener.close()
        // Stopping again, or starting after stopping, does nothing.
        listener.stop()
        listener.start()
        #expect(recorder.events == [.listening])
    }

    @Test(.timeLimit(.minutes(1)))
    func stopBeforeStartEndsTheStream() async throws {
        let listener = try Self.makeListener("postgresql://unused.invalid/none", channels: ["jobs"])
        let recorder = ListenerEventRecorder(listener)
        await listener.close()
        #expect(try await recorder.wait { $0.streamEnded })
        #expect(recorder.events.isEmpty)
    }
}
