#if os(Linux)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
// epoll and eventfd come through our libpq shim: Glibc's module exports neither header.
internal import CLibPQ

/// One thread waiting in `epoll_wait` for the sockets of connections that have a query in flight,
/// so that awaiting a result costs no thread of its own and no cooperative thread blocks.
///
/// Registrations are one-shot: a handler runs once, on the poller's thread, when its socket is
/// ready (or has failed), and must register again to wait for more. Handlers must not block; they
/// only make non-blocking libpq calls. `register` calls `epoll_ctl` directly (it is safe while
/// another thread sits in `epoll_wait`), so only ``stop()`` and ``schedule(at:_:)`` (a single
/// timer, which the pool uses to time out callers waiting for a connection) write the eventfd.
final class PostgresPoller: Sendable {
    struct Interest: OptionSet, Sendable {
        let rawValue: UInt32

        static let readable = Interest(rawValue: EPOLLIN.rawValue)
        static let writable = Interest(rawValue: EPOLLOUT.rawValue)
    }

    enum Readiness: Sendable {
        /// The socket is readable, writable or in error (the handler finds out which by trying).
        case ready
        /// The poller broke down (`epoll_wait` failed); the handler must give up its query.
        case pollerFailed
    }

    typealias Handler = @Sendable (Readiness) -> Void

    private struct Timer {
        let deadline: ContinuousClock.Instant
        let handler: @Sendable () -> Void
    }

    private struct Registration {
        let generation: UInt32
        let handler: Handler
    }

    private enum Phase {
        case running
        /// Asked to stop: the thread ends as soon as no registration is left.
        case stopping
        /// The thread ended (or never started); registrations are refused.
        case stopped
    }

    private struct State {
        var registrations: [Int32: Registration] = [:]
        var nextGeneration: UInt32 = 1
        var phase = Phase.stopped
        var thread: pthread_t?
        var timer: Timer?
    }

    private let epollDescriptor: Int32
    private let wakeDescriptor: Int32
    private let state = Mutex(State())

    /// The epoll `data` of the eventfd; socket tokens always carry a non-zero generation.
    private static let wakeToken: UInt64 = 0
    private static let eventsPerWake = 64

    /// Creates the epoll instance and the eventfd and starts the thread.
    init() throws(DatabaseError) {
        let epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollDescriptor >= 0 else {
            throw Self.systemError("epoll_create1")
        }
        let wakeDescriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeDescriptor >= 0 else {
            let error = Self.systemError("eventfd")
            _ = close(epollDescriptor)
            throw error
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event) == 0 else {
            let error = Self.systemError("epoll_ctl")
            _ = close(wakeDescriptor)
            _ = close(epollDescriptor)
            throw error
        }
        self.epollDescriptor = epollDescriptor
        self.wakeDescriptor = wakeDescriptor
        try start()
    }

    deinit {
        // The thread holds a reference while it runs, so it has ended by now.
        _ = close(wakeDescriptor)
        _ = close(epollDescriptor)
    }

    private func start() throws(DatabaseError) {
        // The thread owns one reference to the poller until its loop returns.
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread,
            nil,
            { context in
                guard let context else {
                    return nil
                }
                let poller = Unmanaged<PostgresPoller>.fromOpaque(context).takeRetainedValue()
                poller.run()
                return nil
            },
            context
        )
        guard status == 0 else {
            Unmanaged<PostgresPoller>.fromOpaque(context).release()
            throw DatabaseError(kind: .connectionFailed, serverMessage: "could not start the poller thread (error \(status))")
        }
        state.withLock { state in
            state.phase = .running
            state.thread = thread
        }
    }

    // MARK: - Registration

    /// Calls `handler` once, on the poller thread, when `socket` is ready for `interest` or has
    /// failed. Throws `.closed` once the poller has stopped. One registration per socket at a time.
    func register(socket: Int32, for interest: Interest, handler: @escaping Handler) throws(DatabaseError) {
        let generation = try state.withLock { (state: inout State) throws(DatabaseError) -> UInt32 in
            guard state.phase != .stopped else {
                throw DatabaseError(kind: .closed)
            }
            let generation = state.nextGeneration
            state.nextGeneration = generation == UInt32.max ? 1 : generation + 1
            state.registrations[socket] = Registration(generation: generation, handler: handler)
            return generation
        }
        var event = epoll_event()
        event.events = interest.rawValue | EPOLLONESHOT.rawValue
        event.data.u64 = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: socket))
        // A socket stays in the set, disarmed, between queries: re-arm it. A new connection (or a
        // reused descriptor number, since closing a socket removes it from the set) is added.
        if epoll_ctl(epollDescriptor, EPOLL_CTL_MOD, socket, &event) == 0 {
            return
        }
        if errno == ENOENT, epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, socket, &event) == 0 {
            return
        }
        let error = Self.systemError("epoll_ctl")
        state.withLock { state in
            if state.registrations[socket]?.generation == generation {
                state.registrations[socket] = nil
            }
        }
        throw error
    }

    /// Withdraws the registration for `socket`, if any: its handler will not be called. The
    /// socket may stay in the epoll set, disarmed (a one-shot event that fires anyway finds no
    /// registration and is ignored).
    func deregister(socket: Int32) {
        let stopping = state.withLock { state -> Bool in
            state.registrations[socket] = nil
            return state.phase == .stopping
        }
        if stopping {
            // The thread may be waiting for the last registration to go.
            wake()
        }
    }

    /// Calls `handler` once, on the poller thread, at `deadline` (or soon after), replacing the
    /// timer set before, if any. For deadlines that need no precision better than a millisecond.
    /// Throws `.closed` once the poller has stopped.
    func schedule(at deadline: ContinuousClock.Instant, _ handler: @escaping @Sendable () -> Void) throws(DatabaseError) {
        try state.withLock { (state: inout State) throws(DatabaseError) in
            guard state.phase != .stopped else {
                throw DatabaseError(kind: .closed)
            }
            state.timer = Timer(deadline: deadline, handler: handler)
        }
        // The thread may be waiting with no timeout (or a later one): let it pick up the timer.
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(wakeDescriptor, $0.baseAddress, $0.count) }
    }

    // MARK: - Stopping

    /// Stops taking new work once every registered handler has run; returns at once. Idempotent.
    func stop() {
        let wake = state.withLock { state -> Bool in
            guard state.phase == .running else {
                return false
            }
            state.phase = .stopping
            return true
        }
        if wake {
            self.wake()
        }
    }

    /// Waits for the thread to end (blocking: call it off the cooperative pool). Call ``stop()``
    /// first. Idempotent.
    func join() {
        if let thread = takeThread() {
            _ = pthread_join(thread, nil)
        }
    }

    /// Lets the thread end on its own, for when nobody can wait for it. Idempotent.
    func detach() {
        if let thread = takeThread() {
            _ = pthread_detach(thread)
        }
    }

    /// The thread to join or detach, once.
    private func takeThread() -> pthread_t? {
        state.withLock { state in
            defer { state.thread = nil }
            return state.thread
        }
    }

    // MARK: - The thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWake)
        while true {
            let timeout = state.withLock { state in
                state.timer.map { Self.milliseconds(until: $0.deadline) } ?? -1
            }
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epollDescriptor, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            if count < 0 {
                if errno == EINTR {
                    continue
                }
                failAll()
                return
            }
            for index in 0..<Int(count) {
                let token = events[index].data.u64
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = withUnsafeMutableBytes(of: &value) { read(wakeDescriptor, $0.baseAddress, $0.count) }
                    continue
                }
                let socket = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
                let generation = UInt32(truncatingIfNeeded: token >> 32)
                let handler = state.withLock { state -> Handler? in
                    guard let registration = state.registrations[socket], registration.generation == generation else {
                        return nil
                    }
                    state.registrations[socket] = nil
                    return registration.handler
                }
                handler?(.ready)
            }
            let now = ContinuousClock.now
            let expired = state.withLock { state -> Timer? in
                guard let timer = state.timer, timer.deadline <= now else {
                    return nil
                }
                state.timer = nil
                return timer
            }
            expired?.handler()
            let finished = state.withLock { state -> Bool in
                guard state.phase == .stopping, state.registrations.isEmpty else {
                    return false
                }
                state.phase = .stopped
                state.timer = nil
                return true
            }
            if finished {
                return
            }
        }
    }

    /// `epoll_wait` failed for good: refuse new work and let every waiting handler give up.
    private func failAll() {
        let handlers = state.withLock { state -> [Handler] in
            state.phase = .stopped
            state.timer = nil
            defer { state.registrations = [:] }
            return state.registrations.values.map(\.handler)
        }
        for handler in handlers {
            handler(.pollerFailed)
        }
    }

    /// Milliseconds from now until `deadline`, rounded up so the timer never fires early.
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else {
            return 0
        }
        return Int32(clamping: min(remaining.roundedUpMilliseconds, 60_000))
    }

    private static func systemError(_ call: String) -> DatabaseError {
        DatabaseError(kind: .connectionLost, serverMessage: "\(call) failed (errno \(errno))")
    }
}

#else

/// epoll is Linux-only: elsewhere the pool has no poller and runs every query on its thread pool.
final class PostgresPoller: Sendable {
    struct Interest: OptionSet, Sendable {
        let rawValue: UInt32

        static let readable = Interest(rawValue: 1)
        static let writable = Interest(rawValue: 4)
    }

    enum Readiness: Sendable {
        case ready
        case pollerFailed
    }

    typealias Handler = @Sendable (Readiness) -> Void

    init() throws(DatabaseError) {
        throw DatabaseError(kind: .connectionFailed, serverMessage: "epoll is not available on this platform")
    }

    func register(socket: Int32, for interest: Interest, handler: @escaping Handler) throws(DatabaseError) {
        throw DatabaseError(kind: .closed)
    }

    func schedule(at deadline: ContinuousClock.Instant, _ handler: @escaping @Sendable () -> Void) throws(DatabaseError) {
        throw DatabaseError(kind: .closed)
    }

    func deregister(socket: Int32) {}

    func stop() {}
    func join() {}
    func detach() {}
}
#endif
