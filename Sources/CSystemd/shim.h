// libsystemd's daemon API: socket activation (sd_listen_fds) and readiness
// notification (sd_notify, sd_watchdog_enabled).
#include <systemd/sd-daemon.h>
#include <sys/prctl.h>

// prctl is variadic, which Swift cannot call: this fixed-arity wrapper marks
// the process not dumpable (no core dumps, no ptrace attach by other
// processes of the same user), since llmuxd holds provider keys in memory.
static inline int llmux_disable_dumping(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// The journal's native protocol (structured fields), for logging under systemd.
#include <systemd/sd-journal.h>
