import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWT
import Synchronization
import Testing

/// A tiny HTTP server on 127.0.0.1 for key set tests: serves whatever
/// document (and status) the test sets at `/jwks.json`, and counts every
/// request it receives, on any path.
final class KeySetServer: Sendable {
    struct State {
        var status: HTTPResponse.Status = .ok
        var body: [UInt8] = Array(#"{"keys":[]}"#.utf8)
        var delay: Duration = .zero
        var requests = 0
        var keySetRequests = 0
    }

    let state = Mutex(State())

    var requests: Int { state.withLock { $0.requests } }
    var keySetRequests: Int { state.withLock { $0.keySetRequests } }

    func serve(_ keys: [JWTSigningKey]) {
        serve(status: .ok, body: JSONCoding.encode(["keys": .array(keys.map { .object($0.publicJWK) })]))
    }

    func serve(status: HTTPResponse.Status, body: [UInt8], delay: Duration = .zero) {
        state.withLock { state in
            state.status = status
            state.body = body
            state.delay = delay
        }
    }

    /// Runs the server for the duration of `body`, passing its base URL (`http://127.0.0.1:PORT`).
    func run(_ body: @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("/jwks.json") { _, _ -> Response in
            let (status, document, delay) = self.state.withLock { state in
                state.requests += 1
                state.keySetRequests += 1
                return (state.status, state.body, state.delay)
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        router.get("/**") { _, _ -> Response in
            self.state.withLock { $0.requests += 1 }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"keys":[]}"#)))
        }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await application.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)")
        }
    }
}

/// A counter that concurrent test tasks can share.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
