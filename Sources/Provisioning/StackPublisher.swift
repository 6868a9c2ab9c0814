import Artifacts
public import Catalog
import Foundation
public import GitOps
public import Jobs
public import Rendering

/// Renders a stack from the catalog as it is now, records the revision and commits it to the
/// GitOps repository, all in one transaction fenced by the job's lease that holds the stack's row
/// lock: renders of one stack run one at a time, each reading every tenant change committed before
/// it, so the newest recorded revision is also the newest commit. A render that finds nothing
/// changed records nothing and, when that revision is already committed, runs no git at all; so a
/// burst of tenant jobs on one stack costs one commit per actual change.
///
/// A stack that serves no tenant (a shared stack whose tenants are all gone, or a dedicated stack
/// being retired) gets an empty revision: its directory is removed from the repository.
public struct StackPublisher: Sendable {
    public let renderer: StackRenderer
    public let repository: GitOpsRepository
    public let builder: StackSpecBuilder

    public init(renderer: StackRenderer, repository: GitOpsRepository, builder: StackSpecBuilder) {
        self.renderer = renderer
        self.repository = repository
        self.builder = builder
    }

    /// What a publish produced.
    public struct Outcome: Sendable {
        public var revision: RecordedRevision
        /// The tenants the revision serves.
        public var members: [StackMember]
        /// Whether this publish recorded a new revision.
        public var created: Bool
    }

    /// Renders `spec` for a job: a spec that breaks a rule fails the job for good (`dead`) with
    /// every field error, since running it again cannot help.
    static func render(_ spec: StackSpec, with renderer: StackRenderer) throws -> ArtifactRevision {
        let result = Result { () throws(RenderError) -> ArtifactRevision in try renderer.render(spec) }
        switch result {
        case .success(let revision):
            return revision
        case .failure(.invalidSpec(let errors)):
            throw JobFailure.permanent("invalid stack spec: " + errors.map(\.description).joined(separator: "; "))
        case .failure(let error):
            throw error
        }
    }

    /// Publishes the stack of `work`; `retire` publishes it empty whatever its tenants.
    /// `sharedServer` is the region's shared server (shared stacks).
    public func publish(
        _ work: TenantWork, sharedServer: StackSpecBuilder.SharedServer?, retire: Bool = false, context: JobContext
    ) async throws -> Outcome {
        let job = context.job
        let actor = job.createdBy ?? "provisioner"
        let region = work.region
        let size = work.tenant.size
        let (renderer, repository, builder) = (self.renderer, self.repository, self.builder)
        let location = try GitOpsLocation(region: region.slug, stack: work.stack.stack.name)
        return try await context.withFencedTransaction { connection in
            let stack = try TenantStore.stackRecord(work.stack.stack.id, lock: true, connection)
            let members = retire ? [] : try TenantStore.members(of: stack, connection)
            let revision: ArtifactRevision
            if members.isEmpty {
                revision = try ArtifactRevision(files: [])
            } else {
                let spec = try builder.spec(stack: stack, region: region, members: members, size: size, sharedServer: sharedServer)
                revision = try Self.render(spec, with: renderer)
            }
            let (recorded, created) = try ArtifactStore.record(
                revision, stack: stack.stack.id, job: job.id, actor: actor, on: connection
            )
            var final = recorded
            if created || recorded.gitCommit == nil {
                let commit = try repository.commit(revision, at: location, job: job.id.uuidString.lowercased(), actor: actor)
                if recorded.gitCommit != commit.sha {
                    try ArtifactStore.setGitCommit(commit.sha, stack: stack.stack.id, number: recorded.number, on: connection)
                    final.gitCommit = commit.sha
                }
            }
            return Outcome(revision: final, members: members, created: created)
        }
    }
}
