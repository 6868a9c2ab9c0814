import Artifacts
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import JWT

/// `/v1/stacks` and a stack's artifacts: file lists, single files, `.tar.gz` archives and diffs of
/// its revisions.
///
/// Provider staff see every stack. An organization's principals see only the dedicated stacks of
/// their organization (shared stacks' files name other customers' hostnames and databases), and a
/// token confined to tenants only those tenants' stacks: every other stack is 404, read before the
/// permission check so that the 404 comes before any 403.
struct StackController {
    let stacks: StackStore
    let artifacts: ArtifactStore

    func addRoutes(to routes: RouteRegistry) {
        let owner = self.owner
        routes.add(.get, "/v1/stacks", access: .permission(.stacksRead)) { request, context in
            let principal = try context.requirePrincipal()
            let (after, limit) = try Cursor.identifierPageRequest(request)
            let page = try await stacks.list(
                StackListQuery(organization: principal.organization, tenants: principal.tenants, after: after, limit: limit)
            )
            return APIResponse(
                json: .object([
                    "items": .array(page.items.map(\.json)),
                    "next_cursor": page.nextAfter.flatMap(UUID.init(uuidString:)).map { .string(Cursor.encode(id: $0)) } ?? .null,
                ])
            )
        }
        routes.add(.get, "/v1/stacks/{stack}", access: .permission(.stacksRead), owner: owner) { _, context in
            let stack = try await stacks.get(try Self.stackID(context))
            return .resource(stack.json, version: stack.version)
        }
        routes.add(.get, "/v1/stacks/{stack}/artifacts", access: .permission(.artifactsRead), owner: owner) { request, context in
            let number = try Self.revisionNumber(request, "revision")
            let revision = try await artifacts.revision(stack: try Self.stackID(context), number: number)
            return Self.immutable(APIResponse(json: revision.json), revision)
        }
        routes.add(.get, "/v1/stacks/{stack}/artifacts/file", access: .permission(.artifactsRead), owner: owner) {
            request, context in
            let parameters = request.uri.queryParameters
            var errors: [FieldError] = []
            let number = Self.collecting(&errors) { try Self.revisionNumber(request, "revision") }
            let path = parameters["path"].map(String.init)
            if path == nil {
                errors.append(FieldError(field: "path", message: "is required"))
            } else if let path, !ArtifactFile.isSafePath(path) {
                errors.append(FieldError(field: "path", message: "must be a relative path of [A-Za-z0-9._/-] without '.' or '..' parts"))
            }
            guard errors.isEmpty, let path else { throw ProblemError.validation(errors) }
            let revision = try await artifacts.revision(stack: try Self.stackID(context), number: number ?? nil)
            let bytes = try await artifacts.contents(of: path, in: revision)
            var headers = HTTPFields()
            headers[.contentType] = Self.contentType(path: path, bytes: bytes)
            headers[.eTag] = "\"\(revision.entry(at: path)?.sha256 ?? revision.digest)\""
            return APIResponse(status: .ok, headers: headers, body: bytes)
        }
        routes.add(.get, "/v1/stacks/{stack}/artifacts.tar.gz", access: .permission(.artifactsRead), owner: owner) {
            request, context in
            let number = try Self.revisionNumber(request, "revision")
            let stack = try await stacks.get(try Self.stackID(context))
            let revision = try await artifacts.revision(stack: stack.id, number: number)
            let contents = try await artifacts.contents(of: revision)
            let files = revision.manifest.map { (path: $0.path, contents: contents[$0.sha256] ?? []) }
            let archive = try Gzip.compress(
                try TarArchive.archive(files, modified: Int(revision.createdAt.timeIntervalSince1970))
            )
            var headers = HTTPFields()
            headers[.contentType] = "application/gzip"
            headers[.contentDisposition] = "attachment; filename=\"\(stack.name)-r\(revision.number).tar.gz\""
            headers[.eTag] = "\"\(revision.digest)\""
            return APIResponse(status: .ok, headers: headers, body: archive)
        }
        routes.add(.get, "/v1/stacks/{stack}/artifacts/diff", access: .permission(.artifactsRead), owner: owner) {
            request, context in
            var errors: [FieldError] = []
            let from = Self.collecting(&errors) { try Self.revisionNumber(request, "from") } ?? nil
            let to = Self.collecting(&errors) { try Self.revisionNumber(request, "to") } ?? nil
            guard errors.isEmpty else { throw ProblemError.validation(errors) }
            let id = try Self.stackID(context)
            let newer = try await artifacts.revision(stack: id, number: to)
            // Without `from`: the revision before `to` (nothing before the first).
            let older: RecordedRevision?
            if let from {
                older = try await artifacts.revision(stack: id, number: from)
            } else if newer.number > 1 {
                older = try await artifacts.revision(stack: id, number: newer.number - 1)
            } else {
                older = nil
            }
            var oldContents: [String: [UInt8]] = [:]
            if let older { oldContents = try await artifacts.contents(of: older) }
            let newContents = try await artifacts.contents(of: newer)
            var changes: [String: (old: [UInt8]?, new: [UInt8]?)] = [:]
            for entry in older?.manifest ?? [] { changes[entry.path, default: (nil, nil)].old = oldContents[entry.sha256] ?? [] }
            for entry in newer.manifest { changes[entry.path, default: (nil, nil)].new = newContents[entry.sha256] ?? [] }
            let diff = UnifiedDiff.render(changes.map { (path: $0.key, old: $0.value.old, new: $0.value.new) })
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[.eTag] = "\"\(older?.digest.prefix(16) ?? "none")-\(newer.digest.prefix(16))\""
            return APIResponse(status: .ok, headers: headers, body: Array(diff.utf8))
        }
    }

    /// The organization and tenant of the stack the path names: none for a shared stack (visible to
    /// provider staff only); 404 for a malformed or unknown id.
    var owner: ResourceOwner.Lookup {
        let stacks = self.stacks
        return { context in
            let stack = try await stacks.get(try Self.stackID(context))
            switch stack.kind {
            case .shared: return ResourceOwner(organization: nil, tenant: nil)
            case .dedicated: return ResourceOwner(organization: stack.organization, tenant: stack.tenant)
            }
        }
    }

    static func stackID(_ context: AppRequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("stack")) else { throw ProblemError.notFound }
        return id
    }

    /// A revision number parameter (`nil` when absent); 422 unless a whole number from 1.
    static func revisionNumber(_ request: Request, _ name: String) throws -> Int? {
        guard let raw = request.uri.queryParameters[name[...]] else { return nil }
        guard let number = Int(raw), number >= 1, number <= Int(Int32.max) else {
            throw ProblemError.validation(field: name, "must be a revision number (an integer from 1)")
        }
        return number
    }

    /// Runs `read`, adding its field errors to `errors` instead of throwing them.
    static func collecting<T>(_ errors: inout [FieldError], _ read: () throws -> T) -> T? {
        do {
            return try read()
        } catch let problem as ProblemError {
            errors += problem.errors
            return nil
        } catch {
            return nil
        }
    }

    /// Revisions never change: their answers carry the digest as ETag and may be cached.
    static func immutable(_ response: APIResponse, _ revision: RecordedRevision) -> APIResponse {
        var response = response
        response.headers[.eTag] = "\"\(revision.digest)\""
        return response
    }

    /// YAML, JSON and text by extension; anything that is not UTF-8 is binary.
    static func contentType(path: String, bytes: [UInt8]) -> String {
        guard String(validating: bytes, as: UTF8.self) != nil else { return "application/octet-stream" }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { return "application/yaml" }
        if name.hasSuffix(".json") { return "application/json" }
        return "text/plain; charset=utf-8"
    }
}
