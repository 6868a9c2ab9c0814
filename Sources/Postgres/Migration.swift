/// One migration file, `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// Lowercase hex SHA-256 of the file's bytes.
    public var checksum: String

    public init(version: Int, name: String, sql: String, checksum: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = checksum
    }

    /// `0003_add_tenants`, as in the file name.
    public var label: String {
        Migration.label(version: version, name: name)
    }

    static func label(version: Int, name: String) -> String {
        let digits = String(version)
        let padded = digits.count >= 4 ? digits : String(repeating: "0", count: 4 - digits.count) + digits
        return "\(padded)_\(name)"
    }

    /// Parses `NNNN_name.sql` (4 or more digits, `_`, then `[a-z0-9_]+`); nil otherwise.
    static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql") else {
            return nil
        }
        let stem = fileName.dropLast(4)
        guard let separator = stem.firstIndex(of: "_") else {
            return nil
        }
        let digits = stem[..<separator]
        let name = stem[stem.index(after: separator)...]
        guard digits.count >= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            !name.isEmpty,
            name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }),
            let version = Int(digits)
        else {
            return nil
        }
        return (version, String(name))
    }
}

/// Where the database stands relative to the migration files.
public enum MigrationStatus: Sendable, Equatable {
    /// Every file is applied; `version` is the highest (0 when there are none).
    case current(version: Int)
    /// Files not applied yet, in the order `apply()` will run them.
    case behind(current: Int, pending: [Int])
    /// The database has applied versions that no file here knows: this build is older than it.
    case ahead(unknown: [Int])
    /// An applied migration's file has changed since it was applied.
    case modified(version: Int, name: String)
}

/// Why migrations could not be read or applied.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    case directoryNotFound(path: String)
    case invalidFileName(String)
    case duplicateVersion(Int, files: [String])
    case unreadableFile(String)
    case modifiedMigration(version: Int, name: String)
    case unknownAppliedMigration(version: Int)
    case migrationFailed(version: Int, name: String, underlying: DatabaseError)

    public var description: String {
        switch self {
        case .directoryNotFound(let path):
            return "migrations directory \(path) does not exist; point the migrator at the repository's migrations/ folder"
        case .invalidFileName(let file):
            return "migration file \(file) is not named NNNN_name.sql (at least 4 digits, an underscore, "
                + "then lowercase letters, digits and underscores); rename it"
        case .duplicateVersion(let version, let files):
            return "migration version \(version) is used by more than one file (\(files.joined(separator: ", "))); "
                + "give the newer one the next free number"
        case .unreadableFile(let file):
            return "migration file \(file) could not be read as UTF-8 text"
        case .modifiedMigration(let version, let name):
            return "migration \(Migration.label(version: version, name: name)) was changed after it was applied "
                + "(its checksum differs); nothing was applied. Restore the file to what was applied "
                + "(git checkout it) and put the change in a new migration, then run `provisioner migrate` again"
        case .unknownAppliedMigration(let version):
            return "the database has migration \(version) applied but there is no file for it; this build is "
                + "older than the database, so nothing was applied. Run `provisioner migrate` from the release "
                + "that contains that migration (or newer)"
        case .migrationFailed(let version, let name, let underlying):
            return "migration \(Migration.label(version: version, name: name)) failed and was rolled back "
                + "(\(underlying)); fix it and run `provisioner migrate` again"
        }
    }
}
