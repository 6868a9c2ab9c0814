#if os(Linux)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
// epoll and eventfd: Glibc's module does not export <sys/epoll.h> or <sys/eventfd.h>; SwiftNIO's
// system shim (a dependency of NIOPosix, already linked) includes both.
internal import CNIOLinux

/// One thread waiting in `epoll_wait` for the sockets of connections that have a query in flight,
/// so that awaiting a result costs no thread of its own and no cooperative thread blocks.
///
/// Registrations are one-shot: a handler runs once, on the poller's thread, when its socket is
/// ready (or has failed), and must register again to wait for more. Handlers must not block; they
/// only make non-blocking libpq calls. `register` calls `epoll_ctl` directly (it is safe while
/// another thread sits in `epoll_wait`), so only ``stop()`` needs the eventfd to wake the thread.
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
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { write(wakeDescriptor, $0.baseAddress, $0.count) }
        }
    }

    /// Waits for the thread to end (blocking: call it off the cooperative pool). Call ``stop()``
    /// first. Idempotent.
    func join() {
        guard let thread = state.withLock({ state -> pthread_t? in
            defer { state.thread = nil }
            return state.thread
        }) else {
            return
        }
        _ = pthread_join(thread, nil)
    }

    /// Lets the thread end on its own, for when nobody can wait for it. Idempotent.
    func detach() {
        guard let thread = state.withLock({ state -> pthread_t? in
            defer { state.thread = nil }
            return state.thread
        }) else {
            return
        }
        _ = pthread_detach(thread)
    }

    // MARK: - The thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWake)
        while true {
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epollDescriptor, buffer.baseAddress, Int32(buffer.count), -1)
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
            let finished = state.withLock { state -> Bool in
                guard state.phase == .stopping, state.registrations.isEmpty else {
                    return false
                }
                state.phase = .stopped
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
            defer { state.registrations = [:] }
            return state.registrations.values.map(\.handler)
        }
        for handler in handlers {
            handler(.pollerFailed)
        }
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

    func stop() {}
    func join() {}
    func detach() {}
}
#endif
