#!/usr/bin/env bash
# End-to-end test of the supervisor's console: a real gridwalk-server on loopback, a device
# driven through gridwalk-cli, and headless Debian chromium driven by playwright-core.
# Needs: console/node_modules (playwright-core) and the debug binaries, which carry the
# console inside: cargo build -p gridwalk-server -p gridwalk-client.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "${CARGO_TARGET_DIR:-target}/debug/gridwalk-server" ] || { echo "gridwalk-server is not built: cargo build -p gridwalk-server -p gridwalk-client" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing: scripts/setup.sh installs it" >&2; exit 1; }
NODE_PATH="$PWD/console/node_modules" node --test --test-concurrency=1 tests/e2e-console/e2e.test.mjs tests/e2e-console/admin.test.mjs tests/e2e-console/first-day.test.mjs tests/e2e-console/xss.test.mjs tests/e2e-console/photos.test.mjs
