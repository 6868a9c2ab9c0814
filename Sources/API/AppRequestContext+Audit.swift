public import Catalog

extension AppRequestContext {
    /// Who is acting and from which request, for the audit event a store write records.
    func auditContext() throws -> AuditContext {
        let principal = try requirePrincipal()
        return AuditContext(actor: principal.auditActor, requestID: requestID)
    }
}

extension Principal {
    public var auditActor: AuditActor {
        AuditActor(issuer: issuer, subject: subject, organization: organization)
    }
}
