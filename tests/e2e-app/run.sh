#!/usr/bin/env bash
# Run a script of tests/e2e-app (default: the end-to-end test) under its own Xvfb display.
#   tests/e2e-app/run.sh            end-to-end test (node --test)
#   tests/e2e-app/run.sh bench      the app benchmark
# Needs the debug binaries: cargo build -p gridwalk-app -p gridwalk-server (test-all.sh
# builds them, after building the UI).
set -euo pipefail
cd "$(dirname "$0")/../.."
what="${1:-e2e}"

# A free display number: no lock file and no socket.
display=""
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then display=":$n"; break; fi
done
[ -n "$display" ] || { echo "no free X display" >&2; exit 1; }
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >/tmp/gridwalk-xvfb"${display#:}".log 2>&1 &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
export DISPLAY="$display"
# Software rendering: no GPU under Xvfb.
export WEBKIT_DISABLE_DMABUF_RENDERER=1

case "$what" in
  # Inside a D-Bus session with a Secret Service of its own (GNOME Keyring): the last
  # step opens device A with it. The other steps keep the app off that bus (key file).
  e2e) scripts/with-secret-service.sh node --test --test-concurrency=1 tests/e2e-app/e2e.test.mjs ;;
  bench) node tests/e2e-app/bench.mjs "${@:2}" ;;
  *) echo "usage: $0 [e2e|bench]" >&2; exit 2 ;;
esac
