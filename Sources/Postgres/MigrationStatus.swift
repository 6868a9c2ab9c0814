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
