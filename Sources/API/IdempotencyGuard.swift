import Catalog
import HTTPTypes
public import Hummingbird
import JWT
import Logging

/// `Idempotency-Key` on POST: the first request with a key runs; a replay gets
/// the first response; the same key with another request is 422; a replay while
/// the first is in flight is 409.
struct IdempotencyGuard: Sendable {
    let store: IdempotencyStore
    let logger: Logger

    /// Headers a replay repeats.
    static let replayedHeaders: [HTTPField.Name] = [.contentType, .location, .eTag]

    func run(
        _ request: Request, principal: Principal, requestID: String, secret: ReplaySecret? = nil,
        _ handler: @Sendable (Request) async throws -> APIResponse
    ) async throws -> APIResponse {
        guard let key = request.headers[.idempotencyKey] else { return try await handler(request) }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw ProblemError.badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        // A POST without a body (a cancel) has no media type to check; one with a body must be JSON.
        let body = try await JSONBody.collectOptional(request)
        var fingerprint = Array("\(request.method.rawValue) \(request.uri.path)\n".utf8)
        fingerprint.append(contentsOf: body)
        let hash = Digest.sha256Hex(fingerprint)
        let scope = principal.idempotencyScope

        switch try await store.claim(principal: scope, key: key, requestHash: hash) {
        case .replay(let stored):
            var headers = HTTPFields()
            for pair in stored.headers where pair.count == 2 {
                if let name = HTTPField.Name(pair[0]) { headers[name] = pair[1] }
            }
            headers[.idempotentReplayed] = "true"
            let isProblem = headers[.contentType] == ProblemRenderer.mediaType
            let body = isProblem ? ProblemRenderer.stamp(stored.body, requestID: requestID) : stored.body
            let replayed = APIResponse(status: HTTPResponse.Status(code: stored.status), headers: headers, body: body)
            guard let secret, !isProblem else { return replayed }
            return try await secret.reveal(replayed)
        case .inFlight:
            throw ProblemError(
                .conflict, code: "idempotency_in_flight",
                detail: "a request with this Idempotency-Key is still being processed; retry later"
            )
        case .mismatch:
            throw ProblemError(
                .unprocessableContent, code: "idempotency_key_reused",
                detail: "this Idempotency-Key was used for a different request"
            )
        case .acquired:
            break
        }

        var replayable = request
        replayable.body = RequestBody(buffer: ByteBuffer(bytes: body))
        let response: APIResponse
        do {
            response = try await handler(replayable)
        } catch {
            // A refusal (4xx) is the answer replays get; anything else frees the key for a retry.
            let problem = (error as? ProblemError) ?? (error as? CatalogError).map(ProblemError.from)
            guard let problem, problem.status.code < 500 else {
                await releaseQuietly(scope: scope, key: key)
                throw error
            }
            try await store.complete(principal: scope, key: key, response: Self.stored(problem: problem))
            throw problem
        }
        let kept = try secret.map { try $0.conceal(response) } ?? response
        try await store.complete(principal: scope, key: key, response: Self.stored(kept))
        return response
    }

    /// A POST whose answer holds a secret that is never stored (a partner token):
    /// `conceal` takes it out of the response kept for replays, `reveal` puts it
    /// back, derived anew, into a replay.
    struct ReplaySecret: Sendable {
        var conceal: @Sendable (APIResponse) throws -> APIResponse
        var reveal: @Sendable (APIResponse) async throws -> APIResponse
    }

    private func releaseQuietly(scope: String, key: String) async {
        do {
            try await store.release(principal: scope, key: key)
        } catch {
            logger.warning("idempotency key not released", metadata: ["error": "\(error)"])
        }
    }

    static func stored(_ response: APIResponse) -> StoredResponse {
        StoredResponse(
            status: response.status.code,
            headers: replayedHeaders.compactMap { name in response.headers[name].map { [name.rawName, $0] } },
            body: response.body
        )
    }

    /// A problem is replayed without its request id (the replay gets its own).
    static func stored(problem: ProblemError) -> StoredResponse {
        let rendered = ProblemRenderer.render(problem, requestID: nil)
        return StoredResponse(
            status: problem.status.code,
            headers: [["Content-Type", ProblemRenderer.mediaType]],
            body: rendered
        )
    }
}
