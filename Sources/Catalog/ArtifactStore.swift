public import Artifacts
public import Foundation
import JWT
public import Postgres

/// Catalog access for artifact revisions: every revision's manifest, and each distinct file
/// content once (content-addressed by SHA-256), so any API replica serves artifacts without the
/// GitOps repository.
public struct ArtifactStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let selection = """
        SELECT stack_id, number, digest, manifest::text AS manifest, job_id::text AS job_id, actor, git_commit, created_at
        FROM artifact_revisions
        """

    /// Records `revision` as the stack's next revision and makes it current, in one transaction:
    /// missing blobs are inserted (existing ones are neither sent nor written again), the number is
    /// the next one, `stacks.current_revision` moves. When the stack's current revision already has
    /// this digest nothing is written and that revision is returned with `created: false`.
    /// `.notFound` for an unknown stack.
    public func record(
        _ revision: ArtifactRevision, stack: UUID, job: UUID?, actor: String, gitCommit: String? = nil
    ) async throws -> (revision: RecordedRevision, created: Bool) {
        try await pool.transaction { connection in
            try Self.record(revision, stack: stack, job: job, actor: actor, gitCommit: gitCommit, on: connection)
        }
    }

    /// ``record(_:stack:job:actor:gitCommit:)`` inside the caller's transaction on `connection` (a
    /// job records its revision in the transaction fenced by its lease).
    public static func record(
        _ revision: ArtifactRevision, stack: UUID, job: UUID?, actor: String, gitCommit: String? = nil,
        on connection: PostgresConnection
    ) throws -> (revision: RecordedRevision, created: Bool) {
        let manifest = JSONCoding.encode(
            .array(
                revision.files.map { file in
                    .object(["path": .string(file.path), "sha256": .string(file.sha256), "size": .number(Double(file.size))])
                }
            )
        )
        let stacks = try connection.query("SELECT current_revision FROM stacks WHERE id = $1::uuid FOR UPDATE", [stack])
        let current = try CatalogSQL.single(stacks).decode(Int.self, "current_revision")
        if current > 0 {
            let existing = try Self.decode(
                CatalogSQL.single(connection.query("\(Self.selection) WHERE stack_id = $1::uuid AND number = $2", [stack, current]))
            )
            if existing.digest == revision.digest { return (existing, false) }
        }
        let wanted = Array(Set(revision.files.map(\.sha256)))
        let present = try connection.query(
            "SELECT sha256 FROM artifact_blobs WHERE sha256 = ANY($1::text[])", [CatalogSQL.textArray(wanted)]
        )
        var stored = Set(try present.map { try $0.decode(String.self, "sha256") })
        for file in revision.files where !stored.contains(file.sha256) {
            _ = try connection.execute(
                """
                INSERT INTO artifact_blobs (sha256, content, size) VALUES ($1, $2::bytea, $3)
                ON CONFLICT (sha256) DO NOTHING
                """,
                [file.sha256, file.contents, file.size]
            )
            stored.insert(file.sha256)
        }
        let number = current + 1
        let inserted = try connection.query(
            """
            INSERT INTO artifact_revisions (stack_id, number, digest, manifest, job_id, actor, git_commit)
            VALUES ($1::uuid, $2, $3, $4::jsonb, $5::uuid, $6, $7)
            RETURNING stack_id, number, digest, manifest::text AS manifest, job_id::text AS job_id, actor, git_commit, created_at
            """,
            [stack, number, revision.digest, String(decoding: manifest, as: UTF8.self), job, actor, gitCommit]
        )
        _ = try connection.execute(
            "UPDATE stacks SET current_revision = $2, version = version + 1, updated_at = now() WHERE id = $1::uuid",
            [stack, number]
        )
        return (try Self.decode(CatalogSQL.single(inserted)), true)
    }

    static let updateGitCommit = "UPDATE artifact_revisions SET git_commit = $3 WHERE stack_id = $1::uuid AND number = $2"

    /// Notes the GitOps commit that holds a revision.
    public func setGitCommit(_ sha: String, stack: UUID, number: Int) async throws {
        let rows = try await pool.query(Self.updateGitCommit, [stack, number, sha])
        guard rows.affectedRows == 1 else { throw CatalogError.notFound }
    }

    /// ``setGitCommit(_:stack:number:)`` inside the caller's transaction on `connection`.
    public static func setGitCommit(_ sha: String, stack: UUID, number: Int, on connection: PostgresConnection) throws {
        guard try connection.execute(updateGitCommit, [stack, number, sha]) == 1 else { throw CatalogError.notFound }
    }

    /// Revision `number` of the stack, or its current one when `number` is nil; `.notFound` when
    /// there is no such revision (or none yet).
    public func revision(stack: UUID, number: Int? = nil) async throws -> RecordedRevision {
        let rows: PostgresRows
        if let number {
            rows = try await pool.query("\(Self.selection) WHERE stack_id = $1::uuid AND number = $2", [stack, number])
        } else {
            rows = try await pool.query(
                "\(Self.selection) WHERE stack_id = $1::uuid AND number = (SELECT current_revision FROM stacks WHERE id = $1::uuid)",
                [stack]
            )
        }
        return try Self.decode(CatalogSQL.single(rows))
    }

    /// The bytes of one file of a revision; `.notFound` when the revision has no such path.
    public func contents(of path: String, in revision: RecordedRevision) async throws -> [UInt8] {
        guard let entry = revision.entry(at: path) else { throw CatalogError.notFound }
        let rows = try await pool.query("SELECT content FROM artifact_blobs WHERE sha256 = $1", [entry.sha256])
        return try CatalogSQL.single(rows).decode([UInt8].self, "content")
    }

    /// The bytes of every file of a revision, by SHA-256.
    public func contents(of revision: RecordedRevision) async throws -> [String: [UInt8]] {
        let wanted = Array(Set(revision.manifest.map(\.sha256)))
        guard !wanted.isEmpty else { return [:] }
        let rows = try await pool.query(
            "SELECT sha256, content FROM artifact_blobs WHERE sha256 = ANY($1::text[])", [CatalogSQL.textArray(wanted)]
        )
        var contents: [String: [UInt8]] = [:]
        for row in rows {
            contents[try row.decode(String.self, "sha256")] = try row.decode([UInt8].self, "content")
        }
        return contents
    }

    struct MalformedManifest: Error {}

    static func decode(_ row: PostgresRow) throws -> RecordedRevision {
        let manifestText = try row.decode(String.self, "manifest")
        guard case .array(let items) = try JSONCoding.decode(Array(manifestText.utf8)) else { throw MalformedManifest() }
        let manifest = try items.map { item -> ArtifactManifestEntry in
            guard let object = item.objectValue, let path = object["path"]?.stringValue,
                let sha256 = object["sha256"]?.stringValue, case .number(let size)? = object["size"]
            else { throw MalformedManifest() }
            return ArtifactManifestEntry(path: path, sha256: sha256, size: Int(size))
        }
        return RecordedRevision(
            stackID: try row.decode(UUID.self, "stack_id"),
            number: try row.decode(Int.self, "number"),
            digest: try row.decode(String.self, "digest"),
            manifest: manifest,
            jobID: try row.decodeIfPresent(String.self, "job_id").flatMap(UUID.init(uuidString:)),
            actor: try row.decode(String.self, "actor"),
            gitCommit: try row.decodeIfPresent(String.self, "git_commit"),
            createdAt: try row.decode(Date.self, "created_at")
        )
    }
}
