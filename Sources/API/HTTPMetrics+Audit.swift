import Metrics

extension HTTPMetrics {
    /// Every 401, by reason (`missing_token`, `invalid_token`), whether audited or not.
    func recordAuthenticationFailure(reason: String) {
        Counter(label: "authentication_failures_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Audit events that could not be written (a refusal answered without its event).
    func recordAuditWriteFailure() {
        Counter(label: "audit_write_failures_total", factory: factory).increment()
    }
}
