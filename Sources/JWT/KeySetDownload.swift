import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One GET of a JWK set document through URLSession (on Linux, libcurl over
/// the system OpenSSL): a fresh ephemeral session per download, no cookies,
/// no cache, no redirects, an overall timeout and a cap on the body size.
///
/// The transfer runs on URLSession's own threads; the caller only awaits a
/// continuation, so no cooperative thread is held while the network is slow.
enum KeySetDownload {
    static func fetch(_ url: URL, timeout: Duration, maximumBytes: Int) async throws(JWTError) -> [UInt8] {
        // FoundationNetworking on Linux times a transfer out at once when given less than a
        // second: whole seconds, at least one.
        let exact = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let seconds = max(1, exact.rounded(.up))
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        request.httpMethod = "GET"
        request.setValue("application/jwk-set+json, application/json", forHTTPHeaderField: "Accept")

        let receiver = Receiver(maximumBytes: maximumBytes)
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let outcome: Result<[UInt8], JWTError> = await withCheckedContinuation { continuation in
            receiver.start(continuation)
            session.dataTask(with: request).resume()
        }
        return try outcome.get()
    }

    /// Collects the body and resumes the continuation exactly once.
    private final class Receiver: NSObject, URLSessionDataDelegate, Sendable {
        struct State {
            var body: [UInt8] = []
            var failure: JWTError?
            var continuation: CheckedContinuation<Result<[UInt8], JWTError>, Never>?
        }

        let maximumBytes: Int
        let state = Mutex(State())

        init(maximumBytes: Int) {
            self.maximumBytes = maximumBytes
        }

        func start(_ continuation: CheckedContinuation<Result<[UInt8], JWTError>, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
        ) {
            let refusal: JWTError? =
                if (response as? HTTPURLResponse)?.statusCode != 200 {
                    .keySetUnavailable("status is not 200")
                } else if response.expectedContentLength > Int64(maximumBytes) {
                    .keySetUnavailable("document too large")
                } else {
                    nil
                }
            if let refusal {
                state.withLock { $0.failure = $0.failure ?? refusal }
                completionHandler(.cancel)
            } else {
                completionHandler(.allow)
            }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let tooLarge = state.withLock { state in
                guard state.failure == nil else { return false }
                guard state.body.count + data.count <= maximumBytes else {
                    state.failure = .keySetUnavailable("document too large")
                    return true
                }
                state.body.append(contentsOf: data)
                return false
            }
            if tooLarge { dataTask.cancel() }
        }

        /// Redirects are not followed: the configured URL is the only source.
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            let (continuation, outcome) = state.withLock { state in
                let continuation = state.continuation
                state.continuation = nil
                let outcome: Result<[UInt8], JWTError>
                if let failure = state.failure {
                    outcome = .failure(failure)
                } else if error != nil {
                    outcome = .failure(.keySetUnavailable("transfer failed or timed out"))
                } else {
                    outcome = .success(state.body)
                }
                return (continuation, outcome)
            }
            continuation?.resume(returning: outcome)
        }
    }
}
