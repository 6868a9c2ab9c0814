/// What the GitOps writer reports. Messages never carry the remote's URL (it may hold credentials).
public enum GitOpsError: Error, Sendable, Equatable {
    /// The `git` executable could not be started.
    case gitUnavailable
    /// A git command exited with a non-zero status; `message` is its standard error, with the
    /// remote's URL removed.
    case commandFailed(command: String, status: Int32, message: String)
    /// A region or stack name that cannot be a directory of the repository.
    case invalidLocation(String)
    /// Another writer kept moving the branch: every compare-and-swap or push attempt lost a race.
    case tooManyRaces(attempts: Int)
    /// The remote refused the push for a reason other than a race.
    case pushRejected(message: String)
}
