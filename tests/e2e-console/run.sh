#!/usr/bin/env bash
# End-to-end test of the supervisor's console: a real gridwalk-server on loopback, a device
# driven through gridwalk-cli, and headless Debian chromium driven by playwright-core.
# Needs: console/dist built (npm run build in console/), console/node_modules (playwright-core),
# and the debug binaries: cargo build -p gridwalk-server -p gridwalk-client.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f console/dist/index.html ] || { echo "console/dist is missing: cd console && npm run build" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing: scripts/setup.sh installs it" >&2; exit 1; }
NODE_PATH="$PWD/console/node_modules" node --test --test-concurrency=1 tests/e2e-console/e2e.test.mjs tests/e2e-console/admin.test.mjs tests/e2e-console/xss.test.mjs
