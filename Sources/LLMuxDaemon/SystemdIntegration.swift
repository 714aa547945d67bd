import CSystemd
import Dispatch
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// What llmuxd tells systemd, and the listening socket systemd may hand it.
/// Every call is a no-op when llmuxd was not started by systemd
/// (`NOTIFY_SOCKET` and `LISTEN_FDS` unset).
package enum SystemdIntegration {
    /// The listening Unix stream socket passed by socket activation, if any.
    /// Throws when systemd passed something llmuxd cannot serve.
    package static func activatedSocket() throws(SocketLocation.Failure) -> CInt? {
        let count = sd_listen_fds(1)
        guard count > 0 else { return nil }
        guard count == 1 else {
            throw SocketLocation.Failure(kind: .system, message: "systemd passed \(count) sockets; llmuxd.socket must listen on exactly one")
        }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, CInt(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
            throw SocketLocation.Failure(kind: .system, message: "the socket systemd passed is not a listening Unix stream socket (ListenStream= a path)")
        }
        return fd
    }

    /// `READY=1` with a status line: the config is loaded and the socket listens.
    package static func ready(status: String) {
        notify("READY=1\nSTATUS=\(status)")
    }

    package static func status(_ status: String) {
        notify("STATUS=\(status)")
    }

    /// `RELOADING=1` with the monotonic time, as `Type=notify-reload` expects.
    package static func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=reloading the configuration")
    }

    /// `READY=1` after a reload, successful or not.
    package static func readyAfterReload() {
        notify("READY=1\nSTATUS=serving")
    }

    package static func stopping() {
        notify("STOPPING=1\nSTATUS=stopping")
    }

    package static func watchdogPing() {
        notify("WATCHDOG=1")
    }

    /// Half the watchdog interval systemd asked for (`WatchdogSec=`), or nil.
    package static func watchdogPingInterval() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds / 2))
    }

    /// Makes the process not dumpable (no core files, no ptrace from other
    /// processes of the user): llmuxd keeps provider keys in memory.
    package static func disableCoreDumps() -> Bool {
        llmux_disable_dumping() == 0
    }

    /// sd_notify sends on a blocking datagram socket: when systemd (or whatever listens on
    /// `NOTIFY_SOCKET`) does not read, its queue fills and the send waits. Notifications are
    /// therefore handed to one serial queue of their own, in order, and never waited for: no
    /// event loop, task or shutdown is held up by them. Past `maxPending` waiting, new ones are
    /// dropped (the receiver is not reading anyway).
    private static let notifier = DispatchQueue(label: "llmuxd.sd_notify")
    private static let pending = NIOLockedValueBox(0)
    static let maxPending = 32

    private static func notify(_ state: String) {
        guard
            Self.pending.withLockedValue({ count in
                guard count < Self.maxPending else { return false }
                count += 1
                return true
            })
        else { return }
        Self.notifier.async {
            _ = sd_notify(0, state)
            Self.pending.withLockedValue { $0 -= 1 }
        }
    }
}
