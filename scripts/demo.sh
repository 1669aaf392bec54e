#!/usr/bin/env bash
# The main job: set up what is missing, build, and run the district server with the
# embedded SQLite store and a demo district. It prints the demo users and an enrollment
# code for the first worker; enroll a device with it (the worker app, or gridwalk-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

DATA="${GRIDWALK_DEMO_DATA:-data/district}"
ADDR="${GRIDWALK_ADDR:-127.0.0.1:8080}"
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$DATA"
# The server's build compiles the console in (sync-server/build.rs builds console/dist
# with npm when it is missing or stale), so this one binary serves /console/.
cargo build --release -p gridwalk-server -p gridwalk-client

"$TARGET"/release/gridwalk-server serve --data "$DATA" --addr "$ADDR" --demo &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
echo "console: http://$ADDR/console/ (sign in with a demo user and the password printed above)"

# --- worker app ---
# The app needs a display. It opens on its first-run screen: enter the server address
# above and the enrollment code the server printed.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  (cd ui && npm run build)
  cargo build --release -p gridwalk-app
  mkdir -p data/device1
  GRIDWALK_DATA_DIR="$PWD/data/device1" "$TARGET"/release/gridwalk-app &
  APP=$!
  trap 'kill $SERVER $APP 2>/dev/null || true' EXIT INT TERM
  echo "worker app started (data in data/device1); server at http://$ADDR"
else
  echo "no display: the worker app was not started. Enroll a device from the command line:"
  echo "  $TARGET/release/gridwalk-cli --data data/cli-device enroll --server http://$ADDR --code <code printed above>"
fi
# --- end worker app ---

wait "$SERVER"
