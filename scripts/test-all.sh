#!/usr/bin/env bash
# Set up what is missing, then run every check and test: format, lints, all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
# The district's behaviour suite again, on PostgreSQL (each test binary makes its own
# database on this server and drops it at the end).
echo "== cargo test: the district suite on PostgreSQL"
GRIDWALK_TEST_DATABASE="${GRIDWALK_TEST_DATABASE:-postgres://postgres@127.0.0.1/test}" \
  cargo test -p gridwalk-district-sqlite --test sync_engine --test enrollment --test cursor_late_commit \
    --test console_limits --test review --test admin --test blobs --test desk --test first_download \
    --test indicators --test export --test doc_storage --test areas --test authz --test scope_change \
    --test fuzz_sync
GRIDWALK_TEST_DATABASE="${GRIDWALK_TEST_DATABASE:-postgres://postgres@127.0.0.1/test}" \
  cargo test -p gridwalk-server --test pg_two_servers --test store_copy --test pg_cli --test reimport \
    --test pg_demo --test api --test sync_flow --test doors --test console_api \
    --test console_conflicts --test admin_api --test authz_matrix --test first_day \
    --test privacy_scan
# The end-to-end suite (real servers over HTTP, kills and restarts) on PostgreSQL too.
GRIDWALK_TEST_DATABASE="${GRIDWALK_TEST_DATABASE:-postgres://postgres@127.0.0.1/test}" \
  cargo test -p gridwalk-tests
# The app's device key in a real OS secret store: GNOME Keyring's Secret Service in a
# D-Bus session of the test's own (the tests above use a fake one).
echo "== cargo test: the device key in the OS secret store"
scripts/with-secret-service.sh cargo test -p gridwalk-app --lib -- --ignored os_secret_store

# ==== The grid worker's app (src-tauri/, ui/, tests/e2e-app/) ==========================
# `cargo test --workspace` above has regenerated the UI's TypeScript types from the Rust
# DTOs (ts-rs, into ui/src/bindings/); the UI is type-checked and built against them.
echo "== app: UI type check and build (ui/dist)"
(cd ui && npm run build)
echo "== app: Vitest"
(cd ui && npm test)
echo "== app: build the app (embeds ui/dist) and the sync server"
cargo build -p gridwalk-app -p gridwalk-server
echo "== app: end to end (real app window under Xvfb, tauri-driver, gridwalk-server on loopback)"
tests/e2e-app/run.sh e2e

# ==== The supervisor's console (console/, tests/e2e-console/) ==========================
echo "== console: type check and build (console/dist, served by gridwalk-server at /console/)"
(cd console && npm run build)
echo "== console: Vitest"
(cd console && npm test)
echo "== console: end to end (gridwalk-server + gridwalk-cli device + headless chromium)"
cargo build -p gridwalk-server -p gridwalk-client
tests/e2e-console/run.sh
