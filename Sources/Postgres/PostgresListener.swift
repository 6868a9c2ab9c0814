public import Logging
internal import NIOPosix
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated libpq connection (not one of a ``PostgresPool``'s) that `LISTEN`s on one or more
/// channels and delivers what arrives through ``events``.
///
/// All of its libpq work (connecting, `LISTEN`, reading) runs on one thread of its own, never on
/// Swift's cooperative threads. Between notifications that thread sleeps in `poll(2)` on two
/// descriptors: the connection's socket and a pipe that ``stop()`` writes to. A thread of its own
/// rather than the pool's ``PostgresPoller``: the listener holds one connection for as long as it
/// runs, so the thread costs nothing more than a long-lived registration would; the same loop
/// also does the blocking reconnects and the backoff sleeps (a `poll` with a timeout that ``stop()``
/// cuts short), with no hand-off between a poller thread and a thread pool; and it works where
/// epoll does not.
///
/// When the connection is lost (PostgreSQL restarted, network failure detected by TCP
/// keepalives), the listener reconnects by itself with exponential backoff (100 ms doubling up
/// to 5 s, jittered), issues `LISTEN` again, and yields ``Event/reconnected``: notifications sent
/// meanwhile were missed, so consumers must poll once. It logs only the transitions (connection
/// lost or failing, connection restored), never the connection string.
///
/// ``events`` supports one consumer and buffers without bound; it finishes after ``stop()``. As a
/// `Service`, `run()` starts the listener, waits for graceful shutdown (or cancellation), then
/// closes it.
public final class PostgresListener: Sendable, Service {
    public enum Event: Sendable, Hashable {
        /// `LISTEN` is in effect on every channel, for the first time: notifications sent before
        /// were not seen, so consumers poll once.
        case listening
        /// `LISTEN` is in effect again on a new connection after the previous one was lost:
        /// notifications sent in between were missed, so consumers poll once.
        case reconnected
        case notification(PostgresNotification)
    }

    /// The channels listened on, unquoted (each is quoted with `PQescapeIdentifier`). Names
    /// longer than 63 bytes are truncated by the server, as `NOTIFY` truncates them.
    public let channels: [String]
    /// Everything the listener has to say, in order. Finishes once the listener has stopped.
    public let events: AsyncStream<Event>

    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let continuation: AsyncStream<Event>.Continuation
    private let threadPool: NIOThreadPool
    /// The pipe ``stop()`` writes to, waking the thread from `poll`.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())

    private enum Phase {
        case idle
        case running
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        /// The thread has returned and the stream is finished.
        var finished = false
        var threadPoolShutDown = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    static let initialBackoff = Duration.milliseconds(100)
    static let maximumBackoff = Duration.seconds(5)

    /// Prepares a listener; nothing connects before ``start()`` (or `run()`). Throws only if the
    /// wake-up pipe cannot be created.
    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) throws(DatabaseError) {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            throw DatabaseError(kind: .connectionFailed, serverMessage: "pipe failed (errno \(errno))")
        }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        self.wakeRead = descriptors[0]
        self.wakeWrite = descriptors[1]
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream(of: Event.self)
        self.threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        continuation.onTermination = { [weak self] _ in
            // The consumer went away: nobody is left to listen for.
            self?.stop()
        }
    }

    deinit {
        // The thread holds a reference while it runs, so it has returned (or never started).
        continuation.finish()
        let shutDown = state.withLock { $0.threadPoolShutDown }
        if !shutDown {
            threadPool.shutdownGracefully { _ in }
        }
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
    }

    // MARK: - Lifecycle

    /// Starts connecting and listening on the listener's thread; returns at once. Idempotent; does
    /// nothing once stopped.
    public func start() {
        let starting = state.withLock { state -> Bool in
            guard state.phase == .idle else {
                return false
            }
            state.phase = .running
            return true
        }
        guard starting else {
            return
        }
        threadPool.submit { workState in
            if case .active = workState {
                self.listenUntilStopped()
            }
            self.finish()
        }
    }

    /// Ends the stream and closes the connection; returns at once (the thread ends as soon as it
    /// is not inside a blocking connect, which lasts at most `connectTimeout`). Idempotent.
    public func stop() {
        let wasIdle = state.withLock { state -> Bool in
            defer { state.phase = .stopped }
            return state.phase == .idle
        }
        if wasIdle {
            finish()
        } else {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    /// ``stop()``, then waits until the thread has returned and the connection is closed.
    public func close() async {
        stop()
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if !state.finished {
                    state.finishWaiters.append(waiter)
                }
                return state.finished
            }
            if finished {
                waiter.resume()
            }
        }
        let shutDown = state.withLock { state -> Bool in
            defer { state.threadPoolShutDown = true }
            return state.threadPoolShutDown
        }
        if !shutDown {
            do {
                try await threadPool.shutdownGracefully()
            } catch {
                logger.warning("postgres listener thread shutdown failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `Service`: starts, waits for graceful shutdown (or cancellation), then closes.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await close()
    }

    private var isStopped: Bool {
        state.withLock { $0.phase == .stopped }
    }

    private func finish() {
        continuation.finish()
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            defer { state.finishWaiters = [] }
            return state.finishWaiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    // MARK: - The thread

    /// Connects, listens and reads until stopped, reconnecting after failures.
    private func listenUntilStopped() {
        var backoff = Self.initialBackoff
        var hasListened = false
        /// Whether the last attempt failed or the last connection was lost (for transition logs).
        var failing = false
        while !isStopped {
            var opened: PostgresConnection?
            do {
                let connection = try PostgresConnection.connect(configuration: configuration)
                opened = connection
                try connection.listen(channels: channels)
            } catch {
                opened?.close()
                if !failing {
                    failing = true
                    logger.warning("postgres listener connection failed", metadata: Self.metadata(error))
                }
                guard sleep(for: backoff * Double.random(in: 0.5...1)) else {
                    return
                }
                backoff = min(backoff * 2, Self.maximumBackoff)
                continue
            }
            guard let connection = opened else {
                continue
            }
            if failing {
                failing = false
                logger.info("postgres listener connection restored")
            }
            backoff = Self.initialBackoff
            continuation.yield(hasListened ? .reconnected : .listening)
            hasListened = true
            let lost = readUntilStoppedOrLost(connection)
            connection.close()
            guard let lost else {
                return
            }
            failing = true
            logger.warning("postgres listener connection lost", metadata: Self.metadata(lost))
        }
    }

    /// Yields notifications as they arrive; returns nil when stopped, the error when the
    /// connection is lost.
    private func readUntilStoppedOrLost(_ connection: PostgresConnection) -> DatabaseError? {
        while true {
            do {
                for notification in try connection.readNotifications() {
                    continuation.yield(.notification(notification))
                }
            } catch {
                return error
            }
            let socket = connection.socket
            guard socket >= 0 else {
                return DatabaseError(kind: .connectionLost, serverMessage: "connection has no socket")
            }
            var descriptors = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let count = poll(&descriptors, 2, -1)
            if count < 0 && errno != EINTR {
                return DatabaseError(kind: .connectionLost, serverMessage: "poll failed (errno \(errno))")
            }
            if descriptors[1].revents != 0 || isStopped {
                return nil
            }
            // Readable, or failed: the next read finds out which.
        }
    }

    /// Sleeps for `duration` unless stopped first; false when stopped.
    private func sleep(for duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while !isStopped {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else {
                return true
            }
            var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32(clamping: remaining.roundedUpMilliseconds))
        }
        return false
    }

    private static func metadata(_ error: DatabaseError) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["db.error": "\(error.kind)"]
        if let sqlState = error.sqlState {
            metadata["db.sqlstate"] = "\(sqlState.rawValue)"
        }
        return metadata
    }
}

/// `close(2)`, out of reach of ``PostgresListener/close()`` inside the class.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
