#if os(Linux)
import Foundation
import Glibc
import Testing

@testable import Postgres

@Suite("Poller registrations", .timeLimit(.minutes(3)))
struct PollerTests {
    /// A socket that never becomes readable (its peer writes nothing), and its peer.
    private static func quietSocketPair() throws -> (Int32, Int32) {
        var descriptors: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0)
        return (descriptors[0], descriptors[1])
    }

    @Test(.timeLimit(.minutes(1)))
    func aWithdrawnRegistrationDoesNotHoldTheThreadPastStop() async throws {
        let poller = try PostgresPoller()
        let (socket, peer) = try Self.quietSocketPair()
        defer {
            close(socket)
            close(peer)
        }
        let called = LockedValue(false)
        try poller.register(socket: socket, for: .readable) { _ in called.withLock { $0 = true } }
        poller.deregister(socket: socket)
        poller.stop()
        // join blocks until the thread ends: it must end with nothing left to wait for.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThreadJoining(poller, continuation)
        }
        #expect(called.withLock { $0 } == false)
        // A stopped poller refuses registrations.
        #expect(throws: DatabaseError.self) { try poller.register(socket: socket, for: .readable) { _ in } }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRegistrationStillArmedIsCalledWhenItsSocketBecomesReady() async throws {
        let poller = try PostgresPoller()
        let (socket, peer) = try Self.quietSocketPair()
        defer {
            close(socket)
            close(peer)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            do {
                try poller.register(socket: socket, for: .readable) { _ in continuation.resume() }
            } catch {
                Issue.record(error)
                continuation.resume()
            }
            _ = write(peer, "x", 1)
        }
        poller.stop()
        poller.join()
    }
}

extension Thread {
    /// Joins the poller on a thread of its own (join blocks), then resumes `continuation`.
    fileprivate static func detachNewThreadJoining(
        _ poller: PostgresPoller,
        _ continuation: CheckedContinuation<Void, Never>
    ) {
        let thread = Thread {
            poller.join()
            continuation.resume()
        }
        thread.start()
    }
}
#endif
