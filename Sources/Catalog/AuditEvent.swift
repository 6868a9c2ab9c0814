public import Foundation
public import JWT

/// How the recorded request ended.
public enum AuditOutcome: String, Sendable, CaseIterable {
    /// The change was made (the event committed with it).
    case succeeded
    /// An authenticated caller was refused (403).
    case denied
    /// The request carried no valid token (401); recorded at a bounded rate.
    case unauthenticated
}

/// Who acted: the verified token's issuer and subject, and its `org` claim.
public struct AuditActor: Sendable, Equatable {
    public var issuer: String
    public var subject: String
    /// The organization the actor's token is confined to; `nil` for provider staff.
    public var organization: String?

    public init(issuer: String, subject: String, organization: String?) {
        self.issuer = issuer
        self.subject = subject
        self.organization = organization
    }
}

extension AuditActor {
    /// The `issuer` of operators acting through a `provisioner` command rather
    /// than with a token.
    public static let commandLineIssuer = "provisioner-cli"

    /// An operator running a `provisioner` command (`keys rotate`): no token
    /// vouches for them, so the subject is the operating-system user the
    /// command ran as, `cli:<user>`; provider staff, so no organization.
    public static func commandLine(user: String) -> AuditActor {
        AuditActor(issuer: commandLineIssuer, subject: "cli:\(user)", organization: nil)
    }
}

/// What every store write needs to record who made it and from which request.
public struct AuditContext: Sendable, Equatable {
    /// `nil` only for unauthenticated requests.
    public var actor: AuditActor?
    public var requestID: String?

    public init(actor: AuditActor?, requestID: String?) {
        self.actor = actor
        self.requestID = requestID
    }
}

/// One event to append: written by the stores inside the transaction of the
/// change it records, or on its own for refusals.
public struct AuditRecord: Sendable, Equatable {
    public var context: AuditContext
    /// The slug of the organization the touched resource belongs to; `nil` for provider resources.
    public var organization: String?
    /// `<target type>.<verb>`, e.g. `brand.update`.
    public var action: String
    public var targetType: String
    public var targetID: String?
    public var outcome: AuditOutcome
    /// Changed fields (never secret values) or the reason of a refusal.
    public var summary: JSONValue

    public init(
        context: AuditContext, organization: String?, action: String, targetType: String, targetID: String?,
        outcome: AuditOutcome = .succeeded, summary: JSONValue = .object([:])
    ) {
        self.context = context
        self.organization = organization
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.outcome = outcome
        self.summary = summary
    }
}

/// An event as stored, with its chain position once sealed.
public struct AuditEvent: Sendable, Equatable {
    public var id: String
    /// Insertion order; the list cursor.
    public var serial: Int64
    /// Chain position; `nil` until the sealer reaches the event.
    public var sequence: Int64?
    /// Hex SHA-256 chain hash; `nil` until sealed.
    public var hash: String?
    public var occurredAt: Date
    public var actor: AuditActor?
    public var organization: String?
    public var action: String
    public var targetType: String
    public var targetID: String?
    public var requestID: String?
    public var outcome: AuditOutcome
    public var summary: JSONValue

    public init(
        id: String, serial: Int64, sequence: Int64?, hash: String?, occurredAt: Date, actor: AuditActor?,
        organization: String?, action: String, targetType: String, targetID: String?, requestID: String?,
        outcome: AuditOutcome, summary: JSONValue
    ) {
        self.id = id
        self.serial = serial
        self.sequence = sequence
        self.hash = hash
        self.occurredAt = occurredAt
        self.actor = actor
        self.organization = organization
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.requestID = requestID
        self.outcome = outcome
        self.summary = summary
    }
}
