public import Foundation
import Synchronization

/// A JWK set fetched from a URL (`https`, or plain `http` to a loopback
/// address only) and kept in memory.
///
/// - `load()` fetches it once (start-up); it throws when the document cannot
///   be fetched or holds no usable key.
/// - `refresh()` fetches it again, at most once per `cooldown` whatever the
///   outcome (an error, an empty set and a good set all start the cooldown);
///   callers arriving while a fetch runs wait for that fetch instead of
///   starting another. A failed fetch, or a document without a usable key,
///   keeps the last good keys.
/// - The verifier refreshes on a token whose `kid` is unknown, and when the
///   keys are older than `maximumAge`.
///
/// Nothing in a token can change the URL: `jku`, `x5u` and `jwk` headers are
/// refused by `JWTVerifier` before any key is looked up.
public final class RemoteJSONWebKeySet: Sendable {
    public let url: URL
    public let cooldown: Duration
    public let maximumAge: Duration
    public let timeout: Duration
    public let maximumBytes: Int
    /// Called after every fetch with the number of usable keys, or why it failed.
    private let observer: (@Sendable (Result<Int, JWTError>) -> Void)?
    private let state: Mutex<State>

    private struct State {
        var keys = JSONWebKeySet(keys: [])
        var fetchedAt: ContinuousClock.Instant?
        var lastRefresh: ContinuousClock.Instant?
        var inFlight: Task<JSONWebKeySet, Never>?
        var fetchCount = 0
    }

    /// Validates `location` (see `validatedURL`); fetches nothing yet.
    public init(
        _ location: String, cooldown: Duration = .seconds(30), maximumAge: Duration = .seconds(900),
        timeout: Duration = .seconds(5), maximumBytes: Int = 256 * 1024,
        observer: (@Sendable (Result<Int, JWTError>) -> Void)? = nil
    ) throws(JWTError) {
        self.url = try Self.validatedURL(location)
        self.cooldown = cooldown
        self.maximumAge = maximumAge
        self.timeout = timeout
        self.maximumBytes = maximumBytes
        self.observer = observer
        self.state = Mutex(State())
    }

    /// Whether `location` names a key set URL rather than a file.
    public static func isURL(_ location: String) -> Bool {
        let lowered = location.lowercased()
        return lowered.hasPrefix("https://") || lowered.hasPrefix("http://")
    }

    /// `https` with any host; `http` only with a loopback address literal
    /// (`127.0.0.0/8`, `[::1]`); nothing else.
    public static func validatedURL(_ location: String) throws(JWTError) -> URL {
        guard let url = URL(string: location), let scheme = url.scheme?.lowercased(), let host = url.host,
            !host.isEmpty
        else { throw .keySetUnavailable("not an absolute URL") }
        switch scheme {
        case "https":
            return url
        case "http":
            guard isLoopbackAddress(host) else {
                throw .keySetUnavailable("plain http is only allowed for loopback addresses")
            }
            return url
        default:
            throw .keySetUnavailable("the URL scheme must be https")
        }
    }

    /// `127.a.b.c` in dotted-decimal, or `::1`. Names such as `localhost` are
    /// not addresses and do not count.
    static func isLoopbackAddress(_ host: String) -> Bool {
        var text = Substring(host)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if text == "::1" || text == "0:0:0:0:0:0:0:1" { return true }
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        for octet in octets {
            guard (1...3).contains(octet.count), octet.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(octet), value <= 255
            else { return false }
        }
        return octets[0] == "127"
    }

    /// The keys in use.
    public var current: JSONWebKeySet { state.withLock { $0.keys } }

    /// How many fetches were made (for metrics and tests).
    public var fetchCount: Int { state.withLock { $0.fetchCount } }

    /// The first fetch; throws when it fails or yields no usable key. Does not
    /// start the refresh cooldown, so the first unknown `kid` may refresh at once.
    public func load() async throws(JWTError) {
        let keys = try await fetch()
        state.withLock { state in
            state.keys = keys
            state.fetchedAt = .now
        }
    }

    /// Fetches again unless a fetch ran less than `cooldown` ago; joins a
    /// fetch already under way. Returns the keys in use afterwards, or nil
    /// when nothing was attempted (cooldown).
    public func refresh() async -> JSONWebKeySet? {
        let task: Task<JSONWebKeySet, Never>? = state.withLock { state in
            if let running = state.inFlight { return running }
            let now = ContinuousClock.now
            if let last = state.lastRefresh, now - last < cooldown { return nil }
            state.lastRefresh = now
            // A task of its own, so that callers that give up waiting
            // (cancelled requests) do not cancel the fetch for the others.
            let running = Task { await self.performRefresh() }
            state.inFlight = running
            return running
        }
        guard let task else { return nil }
        return await task.value
    }

    /// Whether the keys are older than `maximumAge` (or were never loaded).
    var isStale: Bool {
        state.withLock { state in
            guard let fetchedAt = state.fetchedAt else { return true }
            return ContinuousClock.now - fetchedAt > maximumAge
        }
    }

    private func performRefresh() async -> JSONWebKeySet {
        let fetched: JSONWebKeySet?
        do {
            fetched = try await fetch()
        } catch {
            fetched = nil
        }
        return state.withLock { state in
            if let fetched {
                state.keys = fetched
                state.fetchedAt = .now
            }
            state.inFlight = nil
            return state.keys
        }
    }

    private func fetch() async throws(JWTError) -> JSONWebKeySet {
        state.withLock { $0.fetchCount += 1 }
        do throws(JWTError) {
            let document = try await KeySetDownload.fetch(url, timeout: timeout, maximumBytes: maximumBytes)
            let keys = try JSONWebKeySet(data: document)
            guard !keys.keys.isEmpty else { throw .keySetUnavailable("no usable key in the document") }
            observer?(.success(keys.keys.count))
            return keys
        } catch {
            observer?(.failure(error))
            throw error
        }
    }
}
