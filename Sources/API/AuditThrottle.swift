import Synchronization

/// Admits at most `limit` events in any window of `window` (per process), and
/// counts what it turned away since the last admission, so the admitted event
/// can say how many it stands for.
///
/// Used for authentication failures: a flood of bad tokens is counted in full
/// in metrics but reaches the catalog at a bounded rate. Per process by design:
/// the bound protects this process's share of the catalog, and N replicas
/// write at most N times the limit.
final class AuditThrottle: Sendable {
    /// An admitted event, with the number of events refused just before it.
    struct Admission: Equatable {
        var suppressedBefore: Int
    }

    private struct State {
        /// Admission times within the current window, oldest first (at most `limit`).
        var admitted: [ContinuousClock.Instant] = []
        var suppressed = 0
    }

    let limit: Int
    let window: Duration
    private let state = Mutex(State())

    init(limit: Int, window: Duration = .seconds(60)) {
        self.limit = max(0, limit)
        self.window = window
    }

    /// An admission, or `nil` when `limit` events were admitted within the last `window`.
    func admit(now: ContinuousClock.Instant = .now) -> Admission? {
        state.withLock { state in
            state.admitted.removeAll { now - $0 >= window }
            guard state.admitted.count < limit else {
                state.suppressed += 1
                return nil
            }
            state.admitted.append(now)
            defer { state.suppressed = 0 }
            return Admission(suppressedBefore: state.suppressed)
        }
    }
}
