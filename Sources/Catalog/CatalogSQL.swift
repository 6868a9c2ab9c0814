import Foundation
public import Postgres

/// Shared pieces of catalog SQL handling.
enum CatalogSQL {
    /// The only row of a result, or `.notFound`.
    static func single(_ rows: PostgresRows) throws -> PostgresRow {
        guard let row = rows.first else { throw CatalogError.notFound }
        return row
    }

    /// Runs `body`, turning constraint violations into domain errors: a unique
    /// violation is `.alreadyExists`, a foreign key still referenced is `.hasDependents`.
    static func mappingConstraints<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            switch error.sqlState {
            case .uniqueViolation?:
                throw CatalogError.alreadyExists(field: field(ofConstraint: error.constraint))
            case .foreignKeyViolation? where error.constraint.map(isDependentReference) ?? false:
                throw CatalogError.hasDependents("other resources still refer to it")
            default:
                throw error
            }
        }
    }

    /// The wire field a unique constraint protects: every unique key of the
    /// catalog so far is a slug (`*_slug_key`).
    static func field(ofConstraint constraint: String?) -> String {
        "slug"
    }

    /// Foreign keys whose violation on delete means "still has dependents".
    static func isDependentReference(_ constraint: String) -> Bool {
        constraint.hasSuffix("_fkey")
    }

    /// A text array parameter, sent as a PostgreSQL array literal of quoted elements.
    static func textArray(_ values: [String]) -> String {
        let quoted = values.map { value in
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
    }
}

extension PostgresRow {
    /// Decodes a `text[]` column selected as `array_to_json(column)::text AS column`.
    func decodeTextArray(_ column: String) throws -> [String] {
        let text = try decode(String.self, column)
        return try TextArrayJSON.parse(text)
    }
}

/// Parses the JSON array of strings that `array_to_json` produces.
enum TextArrayJSON {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> [String] {
        guard let data = text.data(using: .utf8),
            let values = try JSONSerialization.jsonObject(with: data) as? [String]
        else { throw Malformed() }
        return values
    }
}
