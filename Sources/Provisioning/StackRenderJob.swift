public import Artifacts
import Catalog
import Foundation
public import GitOps
public import JWT
public import Jobs
public import Rendering

/// `stack.render`: renders a stack's spec, records the revision in the catalog and commits it to the
/// GitOps repository. Payload: `{"spec": <StackSpec>}`; the stack id comes from the spec.
///
/// Every step can run again: an unchanged revision records nothing and commits nothing. The
/// revision is recorded in a transaction fenced by the job's lease, so a worker that lost the job
/// records nothing; the commit follows, then the commit's id is noted on the revision. A spec that
/// breaks a rule fails the job for good (`dead`) with the field errors.
public struct StackRenderJob: JobHandler {
    public static let kind = "stack.render"

    let renderer: StackRenderer
    let repository: GitOpsRepository

    public init(renderer: StackRenderer, repository: GitOpsRepository) {
        self.renderer = renderer
        self.repository = repository
    }

    /// The payload of a `stack.render` job for `spec`.
    public static func payload(_ spec: StackSpec) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ["spec": try JSONCoding.decode(Array(try encoder.encode(spec)))]
    }

    public func run(_ context: JobContext) async throws {
        guard let specJSON = context.job.payload.objectValue?["spec"] else {
            throw JobFailure.permanent("the payload has no spec")
        }
        let spec: StackSpec
        do {
            spec = try JSONDecoder().decode(StackSpec.self, from: Data(JSONCoding.encode(specJSON)))
        } catch {
            throw JobFailure.permanent("the spec cannot be read: \(error)")
        }
        try await context.step("render")
        let revision = try StackPublisher.render(spec, with: renderer)
        try await context.step("record")
        let job = context.job
        let actor = job.createdBy ?? "provisioner"
        let recorded = try await context.withFencedTransaction { connection in
            try ArtifactStore.record(revision, stack: spec.stackID, job: job.id, actor: actor, on: connection).revision
        }
        try await context.step("commit")
        let location = try GitOpsLocation(region: spec.region.slug, stack: spec.stackName)
        let repository = self.repository
        let commit = try await Self.offCooperativePool {
            try repository.commit(revision, at: location, job: job.id.uuidString.lowercased(), actor: actor)
        }
        if recorded.gitCommit != commit.sha {
            try await context.withFencedTransaction { connection in
                try ArtifactStore.setGitCommit(commit.sha, stack: spec.stackID, number: recorded.number, on: connection)
            }
        }
    }

    /// Runs blocking work (git processes) on a thread of its own, not on Swift's cooperative pool.
    static func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
