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
