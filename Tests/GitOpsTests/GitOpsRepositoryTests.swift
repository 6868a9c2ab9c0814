import Artifacts
import Foundation
import Testing

@testable import GitOps

#if canImport(Glibc)
import Glibc
#endif

/// The GitOps writer against real git repositories in temporary folders.
@Suite(.timeLimit(.minutes(3))) struct GitOpsRepositoryTests {
    let eu: GitOpsLocation
    let us: GitOpsLocation

    init() throws {
        eu = try GitOpsLocation(region: "eu-west", stack: "shared-17-1")
        us = try GitOpsLocation(region: "us-east", stack: "acme-prod")
    }

    @Test func commitsARevisionIntoTheStackDirectory() throws {
        try GitFixture.withDirectory { root in
            let repository = GitOpsRepository(path: root.appendingPathComponent("gitops"))
            let revision = try GitFixture.revision(["kustomization.yaml": "resources: []\n", "web/deployment.yaml": "kind: Deployment\n"])
            let result = try repository.commit(revision, at: eu, job: "job-1", actor: "alice@example.com")
            #expect(result.created)
            #expect(try repository.head() == result.sha)
            #expect(try repository.files(at: eu) == GitFixture.contents(of: revision))
            let message = try repository.git.check(["log", "-1", "--format=%B", result.sha])
            #expect(message.contains("Job: job-1"))
            #expect(message.contains("Actor: alice@example.com"))
            #expect(message.contains("Revision-Digest: \(revision.digest)"))
            let paths = try repository.git.check(["ls-tree", "-r", "--name-only", result.sha])
            #expect(paths == "regions/eu-west/stacks/shared-17-1/kustomization.yaml\nregions/eu-west/stacks/shared-17-1/web/deployment.yaml")
            // A bare repository: there is no working tree that could show a half-written revision.
            #expect(try repository.git.check(["rev-parse", "--is-bare-repository"]) == "true")
        }
    }

    @Test func anUnchangedRevisionMakesNoCommit() throws {
        try GitFixture.withDirectory { root in
            let repository = GitOpsRepository(path: root.appendingPathComponent("gitops"))
            let revision = try GitFixture.revision(["a.yaml": "a\n"])
            let first = try repository.commit(revision, at: eu, job: "job-1", actor: "alice")
            let again = try repository.commit(revision, at: eu, job: "job-2", actor: "bob")
            #expect(again == GitOpsCommit(sha: first.sha, created: false))
            #expect(try repository.head() == first.sha)
            // Still the commit that holds it once another stack moved the branch.
            let other = try repository.commit(try GitFixture.revision(["b.yaml": "b\n"]), at: us, job: "job-3", actor: "alice")
            let third = try repository.commit(revision, at: eu, job: "job-4", actor: "alice")
            #expect(third == GitOpsCommit(sha: first.sha, created: false))
            #expect(try repository.head() == other.sha)
            #expect(try repository.git.check(["rev-list", "--count", "HEAD"]) == "2")
        }
    }

    @Test func filesRemovedFromARevisionVanish() throws {
        try GitFixture.withDirectory { root in
            let repository = GitOpsRepository(path: root.appendingPathComponent("gitops"))
            _ = try repository.commit(
                try GitFixture.revision(["a.yaml": "a\n", "old/b.yaml": "b\n", "old/deep/c.yaml": "c\n"]), at: eu, job: "1", actor: "x"
            )
            let smaller = try GitFixture.revision(["a.yaml": "a2\n"])
            let result = try repository.commit(smaller, at: eu, job: "2", actor: "x")
            #expect(result.created)
            #expect(try repository.files(at: eu) == ["a.yaml": Array("a2\n".utf8)])
            let paths = try repository.git.check(["ls-tree", "-r", "-t", "--name-only", result.sha])
            #expect(!paths.contains("old"))
            // An empty revision removes the directory altogether.
            _ = try repository.commit(try ArtifactRevision(files: []), at: eu, job: "3", actor: "x")
            #expect(try repository.git.check(["ls-tree", "-r", "--name-only", "HEAD"]) == "")
        }
    }

    @Test func twoStacksLiveSideBySide() throws {
        try GitFixture.withDirectory { root in
            let repository = GitOpsRepository(path: root.appendingPathComponent("gitops"))
            let europe = try GitFixture.revision(["k.yaml": "eu\n"])
            let america = try GitFixture.revision(["k.yaml": "us\n", "extra.yaml": "x\n"])
            _ = try repository.commit(europe, at: eu, job: "1", actor: "x")
            _ = try repository.commit(america, at: us, job: "2", actor: "x")
            let sibling = try GitOpsLocation(region: "eu-west", stack: "shared-17-10")
            _ = try repository.commit(try GitFixture.revision(["k.yaml": "sibling\n"]), at: sibling, job: "3", actor: "x")
            // Changing one stack leaves the others alone (a name that is a prefix of another's too).
            _ = try repository.commit(try GitFixture.revision(["k.yaml": "eu2\n"]), at: eu, job: "4", actor: "x")
            #expect(try repository.files(at: eu) == ["k.yaml": Array("eu2\n".utf8)])
            #expect(try repository.files(at: us) == GitFixture.contents(of: america))
            #expect(try repository.files(at: sibling) == ["k.yaml": Array("sibling\n".utf8)])
        }
    }

    @Test func aLostCompareAndSwapIsRebuiltOnTheNewHead() throws {
        try GitFixture.withDirectory { root in
            let path = root.appendingPathComponent("gitops")
            let other = GitOpsRepository(path: path)
            let base = try other.commit(try GitFixture.revision(["k.yaml": "v1\n"]), at: us, job: "0", actor: "x")
            var writer = GitOpsRepository(path: path)
            let moved = LockedBox<String?>(nil)
            writer.beforePublish = { attempt in
                guard attempt == 1 else { return }
                // Another writer moves the branch after this one read it.
                moved.set(try? other.commit(try GitFixture.revision(["k.yaml": "v2\n"]), at: us, job: "1", actor: "y").sha)
            }
            let result = try writer.commit(try GitFixture.revision(["a.yaml": "a\n"]), at: eu, job: "2", actor: "x")
            let competitor = try #require(moved.value)
            #expect(competitor != base.sha)
            #expect(try writer.git.check(["rev-parse", "\(result.sha)^"]) == competitor)
            #expect(try writer.head() == result.sha)
            #expect(try writer.files(at: us) == ["k.yaml": Array("v2\n".utf8)])
            #expect(try writer.files(at: eu) == ["a.yaml": Array("a\n".utf8)])
            // A compare-and-swap against a stale value is refused and changes nothing.
            #expect(try writer.updateRef(to: base.sha, expected: competitor, reason: "test") == false)
            #expect(try writer.head() == result.sha)
        }
    }

    @Test func pushesToARemoteAndRebuildsAfterARace() throws {
        try GitFixture.withDirectory { root in
            let remote = root.appendingPathComponent("remote.git")
            try GitFixture.initBare(remote)
            let first = GitOpsRepository(path: root.appendingPathComponent("clone-a"), remote: remote.path)
            var second = GitOpsRepository(path: root.appendingPathComponent("clone-b"), remote: remote.path)
            _ = try first.commit(try GitFixture.revision(["k.yaml": "us1\n"]), at: us, job: "1", actor: "x")
            let pushedMeanwhile = LockedBox<String?>(nil)
            second.beforePublish = { attempt in
                guard attempt == 1 else { return }
                // The other worker pushes between this one's fetch and its push.
                pushedMeanwhile.set(try? first.commit(try GitFixture.revision(["k.yaml": "us2\n"]), at: us, job: "2", actor: "x").sha)
            }
            let result = try second.commit(try GitFixture.revision(["k.yaml": "eu1\n"]), at: eu, job: "3", actor: "y")
            #expect(result.created)
            let remoteRepository = GitOpsRepository(path: remote)
            #expect(try remoteRepository.head() == result.sha)
            #expect(try remoteRepository.git.check(["rev-parse", "\(result.sha)^"]) == pushedMeanwhile.value)
            #expect(try remoteRepository.files(at: us) == ["k.yaml": Array("us2\n".utf8)])
            #expect(try remoteRepository.files(at: eu) == ["k.yaml": Array("eu1\n".utf8)])
            // The local clone mirrors what was pushed; an unchanged revision pushes nothing.
            #expect(try second.head() == result.sha)
            #expect(try second.commit(try GitFixture.revision(["k.yaml": "eu1\n"]), at: eu, job: "4", actor: "y").created == false)
            #expect(try remoteRepository.head() == result.sha)
        }
    }

    @Test func concurrentPushersToOneRemoteAllLand() throws {
        try GitFixture.withDirectory { root in
            let remote = root.appendingPathComponent("remote.git")
            try GitFixture.initBare(remote)
            let locations = [eu, us]
            let rounds = 4
            let failures = LockedBox<[String]>([])
            DispatchQueue.concurrentPerform(iterations: locations.count) { worker in
                let repository = GitOpsRepository(path: root.appendingPathComponent("clone-\(worker)"), remote: remote.path, maxAttempts: 20)
                for round in 1...rounds {
                    do {
                        let revision = try GitFixture.revision(["k.yaml": "worker \(worker) round \(round)\n"])
                        _ = try repository.commit(revision, at: locations[worker], job: "\(worker)-\(round)", actor: "w\(worker)")
                    } catch {
                        failures.update { $0.append("worker \(worker) round \(round): \(error)") }
                    }
                }
            }
            #expect(failures.value == [])
            let remoteRepository = GitOpsRepository(path: remote)
            for (worker, location) in locations.enumerated() {
                #expect(try remoteRepository.files(at: location) == ["k.yaml": Array("worker \(worker) round \(rounds)\n".utf8)])
            }
            // Linear history: one commit per revision, none lost.
            #expect(try remoteRepository.git.check(["rev-list", "--count", "--min-parents=2", "HEAD"]) == "0")
            #expect(try remoteRepository.git.check(["rev-list", "--count", "HEAD"]) == "\(locations.count * rounds)")
        }
    }

    @Test func aProcessKilledBeforeTheRefMovesLeavesThePreviousRevision() throws {
        try GitFixture.withDirectory { root in
            let path = root.appendingPathComponent("gitops")
            let repository = GitOpsRepository(path: path)
            let previous = try repository.commit(try GitFixture.revision(["k.yaml": "v1\n"]), at: eu, job: "1", actor: "x")
            let files = root.appendingPathComponent("files")
            try GitFixture.write(["k.yaml": "v2\n", "web/new.yaml": "new\n"], to: files)
            let marker = root.appendingPathComponent("paused")
            let arguments = [path.path, eu.region, eu.stack, "job-2", "killer", files.path]

            let child = try GitFixture.startProbe(arguments, environment: [GitOpsRepository.pauseBeforeUpdateRefVariable: marker.path])
            var waited = 0
            while !FileManager.default.fileExists(atPath: marker.path) && child.isRunning && waited < 1200 {
                Thread.sleep(forTimeInterval: 0.05)
                waited += 1
            }
            try #require(FileManager.default.fileExists(atPath: marker.path), "the probe never reached the pause point")
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)

            // The objects are there, the branch is not moved.
            #expect(try repository.head() == previous.sha)
            #expect(try repository.files(at: eu) == ["k.yaml": Array("v1\n".utf8)])

            let rerun = try GitFixture.startProbe(arguments, environment: [:])
            rerun.waitUntilExit()
            #expect(rerun.terminationStatus == 0)
            #expect(try repository.head() != previous.sha)
            #expect(try repository.git.check(["rev-parse", "HEAD^"]) == previous.sha)
            #expect(try repository.files(at: eu) == ["k.yaml": Array("v2\n".utf8), "web/new.yaml": Array("new\n".utf8)])
        }
    }

    @Test(arguments: ["", "EU", "-eu", "eu-", "eu/west", "..", "a b", String(repeating: "a", count: 64)])
    func locationsRefuseNamesThatAreNotSlugs(name: String) {
        #expect(throws: GitOpsError.invalidLocation(name)) { _ = try GitOpsLocation(region: name, stack: "ok") }
        #expect(throws: GitOpsError.invalidLocation(name)) { _ = try GitOpsLocation(region: "ok", stack: name) }
    }

    @Test func commitMessagesKeepOneLinePerTrailer() throws {
        let message = GitOpsRepository.message(
            try GitFixture.revision(["a": "a"]), eu, job: "job\nInjected: yes", actor: "mallory\r\nActor: admin"
        )
        #expect(!message.contains("\nInjected"))
        #expect(!message.contains("\nActor: admin"))
    }
}
