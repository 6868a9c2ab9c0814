import Foundation
import Postgres

/// Collects a listener's events as they arrive, so tests poll for them with deadlines instead of
/// assuming how long delivery takes.
struct ListenerEventRecorder: Sendable {
    private let recorded = LockedValue<[PostgresListener.Event]>([])
    private let ended = LockedValue(false)

    init(_ listener: PostgresListener) {
        let recorded = recorded
        let ended = ended
        Task {
            for await event in listener.events {
                recorded.withLock { $0.append(event) }
            }
            ended.withLock { $0 = true }
        }
    }

    var events: [PostgresListener.Event] {
        recorded.withLock { $0 }
    }

    var notifications: [PostgresNotification] {
        events.compactMap { event in
            guard case .notification(let notification) = event else {
                return nil
            }
            return notification
        }
    }

    /// Whether the stream has finished.
    var streamEnded: Bool {
        ended.withLock { $0 }
    }

    /// Polls `condition` until it holds (true) or `timeout` passes (false).
    func wait(
        timeout: Duration = .seconds(15),
        until condition: (ListenerEventRecorder) -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else {
                return false
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// A channel name no other test uses.
    static func uniqueChannel(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.lowercased().prefix(8)
    }
}
