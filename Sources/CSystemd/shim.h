// libsystemd's daemon API: socket activation (sd_listen_fds) and readiness
// notification (sd_notify, sd_watchdog_enabled).
#include <systemd/sd-daemon.h>
