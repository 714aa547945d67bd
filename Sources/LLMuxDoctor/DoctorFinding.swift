/// One line of `llmux doctor`: what was checked, how it stands, and what to do about it.
package struct DoctorFinding: Sendable, Hashable {
    package enum Severity: String, Sendable, Hashable {
        /// Checked and fine.
        case ok
        /// Worth knowing, nothing broken (the daemon is not running yet; no systemd units).
        case note
        /// Works, but not as configured or not as well as it should (fails the check).
        case warning
        /// Broken: requests will fail (fails the check).
        case failure
    }

    package var severity: Severity
    /// `config`, `socket`, `daemon`, `systemd`, or `provider NAME`.
    package var subject: String
    package var message: String
    /// What to run or change, when there is something to do.
    package var fix: String?

    package init(_ severity: Severity, _ subject: String, _ message: String, fix: String? = nil) {
        self.severity = severity
        self.subject = subject
        self.message = message
        self.fix = fix
    }

    /// Whether this finding makes `llmux doctor` exit non-zero.
    package var isProblem: Bool { self.severity == .warning || self.severity == .failure }
}
