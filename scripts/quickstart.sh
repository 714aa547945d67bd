#!/usr/bin/env bash
# Builds llmux, installs llmux and llmuxd into ~/.local/bin, and streams a
# first answer (which starts llmuxd in the background on its default config).
# With no provider key in the environment the answer comes from the built-in
# demo provider; with OPENAI_API_KEY (or another key the README lists) it
# comes from the real provider.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null 2>&1; then
    echo "quickstart: the Swift 6 toolchain is required (swift not found in PATH); see https://www.swift.org/install/linux/" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
missing=""
for package in libsystemd-dev pkg-config socat libsqlite3-dev; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "quickstart: installing Debian packages:$missing"
    $sudo apt-get update -q
    $sudo apt-get install -y -q $missing
fi

echo "quickstart: building llmux (release; the first build takes a few minutes)"
swift build -c release --static-swift-stdlib
bin="${HOME}/.local/bin"
mkdir -p "$bin"
install -m 0755 .build/release/llmuxd .build/release/llmux "$bin/"
echo "quickstart: installed llmuxd and llmux into $bin"

# llmux keeps its socket in $XDG_RUNTIME_DIR/llmux. A login session sets it;
# a bare shell (a container, su, ssh without PAM) may not.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    if [ -d "/run/user/$(id -u)" ] || mkdir -m 0700 -p "/run/user/$(id -u)" 2>/dev/null; then
        export XDG_RUNTIME_DIR="/run/user/$(id -u)"
    else
        export XDG_RUNTIME_DIR="$HOME/.local/run"
        mkdir -m 0700 -p "$XDG_RUNTIME_DIR"
    fi
    echo "quickstart: XDG_RUNTIME_DIR was not set; using $XDG_RUNTIME_DIR"
    echo "            add this to your shell profile: export XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
fi

echo "quickstart: llmux \"Explain the benefits of streaming.\""
echo
"$bin/llmux" "Explain the benefits of streaming."
echo
"$bin/llmux" status
cat <<MSG

llmuxd is running in the background (log: \${XDG_STATE_HOME:-~/.local/state}/llmux/llmuxd.log).
To use a real model, give llmuxd a key and restart it:
    kill \$(llmux status | sed -n 's/.*pid \([0-9]*\).*/\1/p')
    export OPENAI_API_KEY=sk-...        # or OPENROUTER_API_KEY, GROQ_API_KEY, ...
    llmux "Explain the benefits of streaming."
or describe providers in ~/.config/llmux/config.toml (see README.md).
MSG
