import ArgumentParser
import Catalog
import Foundation
import Logging
import Postgres

/// `provisioner audit verify | seal`: the audit trail's hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check or seal the audit trail's hash chain (DATABASE_URL).",
        subcommands: [AuditVerifyCommand.self, AuditSealCommand.self]
    )

    /// Runs `body` with a small pool on the catalog, closing it afterwards.
    static func withStore<T: Sendable>(_ body: (AuditStore) async throws -> T) async throws -> T {
        let settings = try Settings.fromEnvironment()
        let logger = LoggingSetup.bootstrap(format: settings.logFormat, level: settings.logLevel)
        let pool = PostgresPool(
            configuration: PostgresConfiguration(connectionString: try settings.requireDatabaseURL(), poolSize: 1),
            logger: logger
        )
        do {
            let result = try await body(AuditStore(pool: pool))
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the hash chain over every sealed event; exit 1 at the first broken position."
    )

    func run() async throws {
        let verification = try await AuditCommand.withStore { try await $0.verify() }
        guard let broken = verification.firstBroken else {
            print(
                "audit chain intact: \(verification.verifiedEvents) sealed events, head \(verification.headHash)"
                    + " (\(verification.unsealedEvents) not sealed yet)"
            )
            return
        }
        let event = broken.eventID.map { " (event \($0))" } ?? ""
        print(
            "audit chain broken at position \(broken.position)\(event): \(Self.explain(broken.reason));"
                + " \(verification.verifiedEvents) events before it check out"
        )
        throw ExitCode(1)
    }

    static func explain(_ reason: AuditVerification.BrokenLink.Reason) -> String {
        switch reason {
        case .hashMismatch: "its content does not match its hash (edited)"
        case .missing: "no event holds this position (deleted)"
        case .headMismatch: "the chain head does not match the last sealed event"
        }
    }
}

struct AuditSealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal", abstract: "Seal every committed audit event now (serve does this in the background)."
    )

    func run() async throws {
        let sealed = try await AuditCommand.withStore { try await $0.sealAll() }
        print("sealed \(sealed) audit events")
    }
}
