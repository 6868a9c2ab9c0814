import Foundation
import JWT
import Jobs

extension VersionedJob {
    /// The wire form of a job. Its payload (which may reference secrets), worker, fence and queue
    /// are never shown.
    var json: JSONValue {
        func timestamp(_ date: Date?) -> JSONValue { date.map { .string(Timestamp.format($0)) } ?? .null }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "id": .string(job.id.uuidString.lowercased()),
            "kind": .string(job.kind),
            "state": .string(job.state.rawValue),
            "attempts": .number(Double(job.attempts)),
            "max_attempts": .number(Double(job.maxAttempts)),
            "progress": .array(
                job.progress.map { .object(["name": .string($0.name), "at": .string(Timestamp.format($0.at))]) }
            ),
            "error": text(job.lastError),
            "cancel_requested": .bool(job.cancelRequested),
            "organization": text(job.organization),
            "tenant": text(job.tenant),
            "stack": text(job.stack),
            "run_at": timestamp(job.runAt),
            "created_at": timestamp(job.createdAt),
            "started_at": timestamp(job.startedAt),
            "finished_at": timestamp(job.finishedAt),
            "updated_at": timestamp(updatedAt),
        ])
    }
}
