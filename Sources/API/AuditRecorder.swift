import Catalog
import HTTPTypes
import JWT
import Logging

/// Records refused requests in the audit trail: every authorization failure
/// (403), and authentication failures (401) at a bounded rate. Successful
/// writes are recorded by the stores, inside their transactions.
struct AuditRecorder: Sendable {
    let store: AuditStore
    /// Bounds the 401 events this process writes.
    let throttle: AuditThrottle
    let metrics: HTTPMetrics
    let logger: Logger

    /// A 403. The event belongs to the organization of the route (so that
    /// organization's auditors see what staff were refused on it), else to the
    /// organization `owner` of the resource the route names (a job), else to the
    /// caller's own organization (an organization's auditors see their users'
    /// refused attempts on provider resources), else to none.
    func denied(
        _ problem: ProblemError, principal: Principal, method: HTTPRequest.Method, template: String,
        parameter: (String) -> String?, requestID: String, owner: String? = nil
    ) async {
        let target = AuditTarget(method: method, template: template, parameter: parameter)
        await write(
            AuditRecord(
                context: AuditContext(actor: principal.auditActor, requestID: requestID),
                organization: target.organization ?? owner ?? principal.organization, action: target.action,
                targetType: target.type, targetID: target.id, outcome: .denied,
                summary: ["status": 403, "detail": .string(problem.detail)]
            )
        )
    }

    /// A 401: always counted; written when the throttle admits it, saying how
    /// many were left out since the previous one. Such events belong to no
    /// organization: an unauthenticated caller cannot be attributed, and must
    /// not be able to write into a customer's trail.
    func unauthenticated(
        tokenPresented: Bool, method: HTTPRequest.Method, template: String, parameter: (String) -> String?,
        requestID: String
    ) async {
        let reason = tokenPresented ? "invalid_token" : "missing_token"
        metrics.recordAuthenticationFailure(reason: reason)
        guard let admission = throttle.admit() else { return }
        logger.info(
            "authentication failed",
            metadata: [
                "auth.reason": "\(reason)", "http.route": "\(template)",
                "audit.suppressed": "\(admission.suppressedBefore)",
            ]
        )
        let target = AuditTarget(method: method, template: template, parameter: parameter)
        await write(
            AuditRecord(
                context: AuditContext(actor: nil, requestID: requestID), organization: nil, action: target.action,
                targetType: target.type, targetID: target.id, outcome: .unauthenticated,
                summary: [
                    "status": 401, "reason": .string(reason),
                    "suppressed_before": .number(Double(admission.suppressedBefore)),
                ]
            )
        )
    }

    /// The refusal stands even when its event cannot be written (the catalog
    /// being down must not turn a 401/403 into a 503); the loss is logged and counted.
    private func write(_ record: AuditRecord) async {
        do {
            try await store.record(record)
        } catch {
            metrics.recordAuditWriteFailure()
            logger.error(
                "audit event not written",
                metadata: ["audit.action": "\(record.action)", "audit.outcome": "\(record.outcome.rawValue)", "error": "\(error)"]
            )
        }
    }
}
