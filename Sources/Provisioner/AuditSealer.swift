import Catalog
import Logging
import ServiceLifecycle

/// Seals committed audit events into the hash chain, about once a second.
///
/// Every `serve` process runs one; they take turns on the chain head's row
/// lock and a sealer finding another at work skips its turn, so no request
/// ever waits for the chain.
struct AuditSealer: Service {
    let store: AuditStore
    let logger: Logger
    var interval: Duration = .seconds(1)
    var batch = 500

    func run() async throws {
        // Graceful shutdown cancels the sleep; a last round then seals what the
        // final requests recorded.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sealAvailable()
                try await Task.sleep(for: interval)
            }
        }
        await sealAvailable()
    }

    private func sealAvailable() async {
        do {
            var sealed = batch
            while sealed == batch {
                sealed = try await store.seal(limit: batch)
            }
        } catch {
            logger.warning("audit sealing failed", metadata: ["error": "\(error)"])
        }
    }
}
