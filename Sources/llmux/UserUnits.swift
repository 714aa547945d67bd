/// The systemd user units `llmux service install` writes. They are the files in the
/// repository's `systemd/` folder, with `ExecStart` pointing at the llmuxd found
/// beside llmux (a test checks that the two stay identical).
enum UserUnits {
    static let socketName = "llmuxd.socket"
    static let serviceName = "llmuxd.service"

    /// The ExecStart placeholder used in `systemd/llmuxd.service`.
    static let defaultExecStart = "%h/.local/bin/llmuxd"

    static let socket = """
        # The llmuxd socket: systemd listens and starts llmuxd.service on the first connection.
        #   systemctl --user enable --now llmuxd.socket
        [Unit]
        Description=llmux daemon socket

        [Socket]
        ListenStream=%t/llmux/llmux.sock
        # Only this user may connect; the directory is closed to others too.
        SocketMode=0600
        DirectoryMode=0700

        [Install]
        WantedBy=sockets.target

        """

    static func service(execStart: String = defaultExecStart) -> String {
        """
        # llmuxd as a systemd user service, started through llmuxd.socket.
        #   install -D -m 0644 systemd/llmuxd.socket systemd/llmuxd.service -t ~/.config/systemd/user/
        #   systemctl --user daemon-reload && systemctl --user enable --now llmuxd.socket
        # ExecStart assumes llmuxd in ~/.local/bin (where scripts/quickstart.sh puts it).
        [Unit]
        Description=llmux daemon: local LLM streaming service
        Requires=llmuxd.socket
        After=llmuxd.socket

        [Service]
        # llmuxd sends READY=1 once its config is loaded and it listens, STATUS= with
        # live counts, RELOADING=1 then READY=1 around a reload, STOPPING=1 on shutdown,
        # and WATCHDOG=1 at half of WatchdogSec.
        Type=notify
        ExecStart=\(execStart)
        # `systemctl --user reload llmuxd`: SIGHUP makes llmuxd re-read its config file.
        ExecReload=/bin/kill -HUP $MAINPID
        Restart=on-failure
        WatchdogSec=30
        # Provider keys: an environment file readable only by you (OPENAI_API_KEY=...).
        EnvironmentFile=-%h/.config/llmux/env
        # Or systemd credentials: llmuxd reads $CREDENTIALS_DIRECTORY/PROVIDER first.
        #LoadCredential=openai:%h/.config/llmux/openai.key
        # Files llmuxd creates are private to the user.
        UMask=0077
        # A core dump could hold provider keys.
        LimitCORE=0
        # llmuxd never needs more privileges than it starts with (works in user units).
        NoNewPrivileges=yes

        [Install]
        Also=llmuxd.socket

        """
    }
}
