#!/usr/bin/env bash
# Run a command as in a Linux desktop session: a D-Bus session bus of its own with an
# unlocked GNOME Keyring answering the Secret Service, so the app's device key is tested
# against the real OS secret store (src-tauri/src/keystore.rs). The keyring lives in a
# temporary directory: no real keyring is read or written.
#   scripts/with-secret-service.sh cargo test -p gridwalk-app -- --ignored os_secret_store
set -euo pipefail
if [ -z "${GRIDWALK_SECRET_SERVICE_SESSION:-}" ]; then
  exec dbus-run-session -- env GRIDWALK_SECRET_SERVICE_SESSION=1 "$0" "$@"
fi
tmp="$(mktemp -d)"
export XDG_DATA_HOME="$tmp/share" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# --unlock reads the login keyring's password on stdin (a new keyring takes it as its
# password); the daemon prints the variables that find it.
eval "$(printf 'gridwalk-test\n' | gnome-keyring-daemon --unlock --components=secrets)"
# The daemon quits with the session bus, when dbus-run-session's command ends.
trap 'rm -rf "$tmp"' EXIT
"$@"
