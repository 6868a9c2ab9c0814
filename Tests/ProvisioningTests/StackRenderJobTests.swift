import Artifacts
import Catalog
import Foundation
import GitOps
import JWT
import Jobs
import Logging
import MetricsTestKit
import Postgres
import Provisioning
import Rendering
import ServiceLifecycle
import TestSupport
import Testing

/// `stack.render` through a real worker: the spec is rendered, recorded as the stack's revision
/// and committed to a real git repository; running it again changes nothing; a bad spec dies.
@Suite(.timeLimit(.minutes(3))) struct StackRenderJobTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func spec(stack: UUID) throws -> StackSpec {
        let data = try Data(contentsOf: root.appendingPathComponent("examples/specs/shared-three-tenants.json"))
        var spec = try JSONDecoder().decode(StackSpec.self, from: data)
        spec.stackID = stack
        return spec
    }

    static func git(_ arguments: [String], in repository: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", repository.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until the job leaves the waiting and running states.
    static func finished(_ queue: JobQueue, _ id: UUID) async throws -> Job {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let job = try await queue.job(id)
            if [.succeeded, .dead, .cancelled].contains(job.state) {
                return job
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw JobQueueError.notFound
    }

    @Test func rendersRecordsAndCommitsOnceWhateverTheRepeats() async throws {
        let repository = FileManager.default.temporaryDirectory.appendingPathComponent("render-job-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: repository) }
        try await TestDatabase.withSchema(poolSize: 6) { pool, _ in
            _ = try await RegionStore(pool: pool).create(
                Region(
                    slug: "eu-west", name: "EU", baseDomain: "eu-west.odoo.example.net", gitopsPath: "clusters/eu-west",
                    sharedStackCapacity: 10
                ),
                audit: .test
            )
            let spec = try Self.spec(stack: UUID())
            let stack = try await StackStore(pool: pool).create(
                Stack(id: spec.stackID, name: spec.stackName, region: "eu-west", kind: .shared, odooVersion: spec.odooVersion)
            )
            let templates = try TemplateSet.load(directory: Self.root.appendingPathComponent("templates").path)
            let handler = StackRenderJob(
                renderer: StackRenderer(templates: templates), repository: GitOpsRepository(path: repository)
            )
            let queue = JobQueue(pool: pool)
            var logger = Logger(label: "render-job-test")
            logger.logLevel = .error
            let worker = Worker(
                queue: queue, configuration: WorkerConfiguration(slots: 2, pollInterval: .milliseconds(50)),
                handlers: [StackRenderJob.kind: handler], listenerConfiguration: nil,
                metrics: WorkerMetrics(factory: TestMetrics()), logger: logger
            )
            let group = ServiceGroup(services: [worker], logger: logger)
            let running = Task { try await group.run() }
            defer { running.cancel() }

            let request = JobRequest(
                kind: StackRenderJob.kind, payload: try StackRenderJob.payload(spec), concurrencyKey: "stack:\(stack.id)",
                createdBy: "alice"
            )
            let first = try await Self.finished(queue, try #require(try await queue.enqueue([request]).first))
            #expect(first.state == .succeeded)
            #expect(first.progress.map(\.name) == ["render", "record", "commit"])
            let revision = try await ArtifactStore(pool: pool).revision(stack: stack.id)
            #expect(revision.number == 1)
            #expect(revision.actor == "alice")
            #expect(revision.jobID == first.id)
            let head = try Self.git(["rev-parse", "main"], in: repository)
            #expect(revision.gitCommit == head)
            let rendered = try StackRenderer(templates: templates).render(spec)
            #expect(revision.digest == rendered.digest)
            let listed = try Self.git(["ls-tree", "-r", "--name-only", "main"], in: repository)
            let directory = "regions/eu-west/stacks/\(spec.stackName)/"
            #expect(listed.split(separator: "\n").map(String.init) == rendered.files.map { directory + $0.path })
            #expect(try Self.git(["log", "-1", "--format=%B", "main"], in: repository).contains(first.id.uuidString.lowercased()))

            // The same spec again: no new revision, no new commit.
            let again = try await Self.finished(queue, try #require(try await queue.enqueue([request]).first))
            #expect(again.state == .succeeded)
            #expect(try await ArtifactStore(pool: pool).revision(stack: stack.id).number == 1)
            #expect(try Self.git(["rev-list", "--count", "main"], in: repository) == "1")

            // A spec that breaks a rule ends dead at once, naming the field; nothing changes.
            var hostile = spec
            hostile.stackName = "bad`name"
            let refused = try await Self.finished(
                queue,
                try #require(
                    try await queue.enqueue([JobRequest(kind: StackRenderJob.kind, payload: try StackRenderJob.payload(hostile))])
                        .first
                )
            )
            #expect(refused.state == .dead)
            #expect(refused.attempts == 1)
            #expect(refused.lastError?.contains("stack_name") == true)
            #expect(try Self.git(["rev-list", "--count", "main"], in: repository) == "1")

            await group.triggerGracefulShutdown()
            try await running.value
        }
    }
}

extension AuditContext {
    /// A platform admin acting from a test.
    static let test = AuditContext(
        actor: AuditActor(issuer: "https://idp.test", subject: "tester", organization: nil), requestID: "test-request"
    )
}
