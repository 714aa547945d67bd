#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The open-file limit. Every stream holds an upstream socket besides its
/// client's, and systemd starts user services with a soft limit of 1024, so
/// llmuxd raises its soft limit to the hard one at start.
package enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit; returns (before, after), or nil when it cannot be read.
    @discardableResult
    package static func raiseToHardLimit() -> (before: UInt64, after: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (before, before) }
        return (before, UInt64(limit.rlim_cur))
    }
}
