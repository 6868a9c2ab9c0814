/// A notification sent with `NOTIFY` (or `pg_notify`) on a channel a ``PostgresListener`` listens on.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel's name, as given to `pg_notify` (unquoted).
    public var channel: String
    /// The payload; empty when none was sent.
    public var payload: String
    /// The process id of the server backend that sent it.
    public var backendPID: Int32

    public init(channel: String, payload: String, backendPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.backendPID = backendPID
    }
}
