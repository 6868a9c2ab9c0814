import Catalog
import Foundation
import JWT

extension Stack {
    /// The wire form of a stack.
    var json: JSONValue {
        .object([
            "id": .string(id.uuidString.lowercased()),
            "name": .string(name),
            "region": .string(region),
            "kind": .string(kind.rawValue),
            "odoo_version": .string(odooVersion),
            "organization": organization.map(JSONValue.string) ?? .null,
            "tenant": tenant.map(JSONValue.string) ?? .null,
            "current_revision": currentRevision > 0 ? .number(Double(currentRevision)) : .null,
            "created_at": .string(Timestamp.format(createdAt)),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ])
    }
}

extension RecordedRevision {
    /// The wire form of a revision's manifest (the file list of `GET .../artifacts`).
    var json: JSONValue {
        .object([
            "stack": .string(stackID.uuidString.lowercased()),
            "revision": .number(Double(number)),
            "digest": .string(digest),
            "job": jobID.map { .string($0.uuidString.lowercased()) } ?? .null,
            "actor": .string(actor),
            "git_commit": gitCommit.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.format(createdAt)),
            "files": .array(
                manifest.map { entry in
                    .object(["path": .string(entry.path), "sha256": .string(entry.sha256), "size": .number(Double(entry.size))])
                }
            ),
        ])
    }
}
